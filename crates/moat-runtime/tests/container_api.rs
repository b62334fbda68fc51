//! Container attribution against a real podman: its Docker-compatible API describes a running
//! container, and the resolver finds that container from a process's cgroup in /proc.

use moat_testkit::podman;

use moat_runtime::container::{Attribution, ContainerResolver, ContainerRuntime, DockerApi};
use podman::Podman;
use std::path::PathBuf;

/// The shared busybox image and its name once loaded.
fn busybox_image(podman: &Podman) -> Option<String> {
    let images = moat_testkit::shared::shared_images()?;
    let tar = moat_testkit::shared::shared_file(&images, "busybox-static.tar");
    Some(podman.load_image(&tar))
}

#[test]
fn a_podman_container_is_described_by_the_api_and_found_from_its_cgroup() {
    let Some(mut podman) = Podman::start() else {
        return;
    };
    let Some(image) = busybox_image(&podman) else {
        return;
    };
    assert_eq!(image, "localhost/busybox-static:latest");
    let name = format!("moat-container-api-{}", std::process::id());
    let labels = [
        ("io.kubernetes.pod.name", "web-0"),
        ("io.kubernetes.pod.namespace", "shop"),
    ];
    let id = podman.run_detached(&image, &name, &labels, &["/bin/busybox", "sleep", "60"]);

    let api = DockerApi::new(podman.socket().to_path_buf());
    assert_eq!(api.name(), "podman");
    let info = api
        .inspect(&id)
        .expect("inspect")
        .expect("podman knows the container");
    let container = &info.container;
    assert_eq!(container.id, id);
    assert_eq!(container.name, name);
    assert_eq!(container.image, "localhost/busybox-static:latest");
    assert_eq!(container.repository, "localhost/busybox-static");
    assert_eq!(container.tag, "latest");
    assert_eq!(container.runtime, "podman");
    assert!(container.image_id.is_some(), "{container:?}");
    assert!(container.start_ts.is_some(), "{container:?}");
    assert!(!container.privileged && !container.host_network && !container.host_pid);
    let label = |key: &str| container.labels.get(key).map(String::as_str);
    assert_eq!(label("io.kubernetes.pod.name"), Some("web-0"));
    assert_eq!(label("io.kubernetes.pod.namespace"), Some("shop"));
    let pod = container.pod.as_ref().expect("a pod from the labels");
    assert_eq!((pod.name.as_str(), pod.namespace.as_str()), ("web-0", "shop"));
    let init_pid = info.init_pid.expect("a running container has an init pid");
    assert!(init_pid > 0);

    // The upper directory is where the container's writes land.
    let upper_dir = info.upper_dir.clone().expect("an overlay upper dir");
    assert!(upper_dir.is_dir(), "{} is not a directory", upper_dir.display());
    let written = podman.exec(
        &id,
        &[
            "/bin/busybox",
            "sh",
            "-c",
            "echo moat > /home/app/written-after-start",
        ],
    );
    assert!(
        written.status.success(),
        "exec: {}",
        String::from_utf8_lossy(&written.stderr)
    );
    assert!(upper_dir.join("home/app/written-after-start").is_file());

    assert!(
        api.inspect(&"0".repeat(64)).expect("inspect").is_none(),
        "an unknown id"
    );

    let runtime: Box<dyn ContainerRuntime> = Box::new(DockerApi::new(podman.socket().to_path_buf()));
    let mut resolver = ContainerResolver::new(PathBuf::from("/proc"), Some(runtime));
    let found = resolver
        .container_of(init_pid, None)
        .expect("the init process is in the container");
    assert_eq!(found.container.id, id);
    assert_eq!(found.container.name, name);
    assert_eq!(resolver.api_errors(), 0, "{:?}", resolver.last_api_error());

    let own_cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    assert!(
        resolver.container_of(std::process::id(), None).is_none(),
        "the test process is taken for a container; its cgroup: {own_cgroup}"
    );
}
