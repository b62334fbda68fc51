//! Container attribution: from a process's cgroup to its container id, and from the id to the
//! container's name, image, labels and Kubernetes pod through the container runtime's
//! Docker-compatible API (Docker's or podman's socket).

mod cgroup;
mod docker_api;
mod http;
mod resolver;

use std::path::PathBuf;

use crate::Container;

pub use cgroup::{container_id_from_cgroup, container_id_of_pid};
pub use docker_api::{split_image_reference, DockerApi};
pub use resolver::{ContainerResolver, CACHE_CAPACITY, RETRY_AFTER};

/// What Moat knows about one container.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerInfo {
    /// The fields the rules see (`container.*`, `k8s.*`).
    pub container: Container,
    /// The writable upper directory of its overlay root file system on the host, where the
    /// runtime says (`GraphDriver.Data.UpperDir`): a file found there was written after start.
    pub upper_dir: Option<PathBuf>,
    /// Its merged root file system on the host (`GraphDriver.Data.MergedDir`).
    pub merged_dir: Option<PathBuf>,
    /// The host pid of its first process (`State.Pid`).
    pub init_pid: Option<u32>,
}

/// Why the container runtime's API could not answer.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeApiError {
    /// The socket could not be reached.
    #[error("container runtime API at {socket}: {error}")]
    Connect {
        /// The socket path.
        socket: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// The API answered with something Moat cannot read.
    #[error("container runtime API at {socket}, {request}: {message}")]
    Protocol {
        /// The socket path.
        socket: PathBuf,
        /// The request (`GET /containers/<id>/json`).
        request: String,
        /// What was wrong.
        message: String,
    },
}

/// A container runtime that can describe its containers.
pub trait ContainerRuntime {
    /// The runtime's name for `container.type` (`docker`, `podman`).
    fn name(&self) -> &str;
    /// Describes container `id` (full or short); `Ok(None)` when the runtime does not know it.
    fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>, RuntimeApiError>;
}

/// Finds the container a process runs in.
pub trait Attribution {
    /// The container of process `pid`, given the name of its cgroup leaf directory when the
    /// event source read it (otherwise the implementation reads `/proc/<pid>/cgroup`);
    /// `None` for a process on the host.
    fn container_of(&mut self, pid: u32, cgroup_leaf: Option<&str>) -> Option<std::sync::Arc<ContainerInfo>>;
}
