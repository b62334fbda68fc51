//! Fuzzes what the kernel sources read: eBPF ring buffer records (then turned into events by
//! the process state, against an empty /proc) and proc connector datagrams. Neither may panic.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use moat_runtime::container::{Attribution, ContainerInfo};
use moat_runtime::source::ebpf::decode;
use moat_runtime::source::fallback::count_datagram;
use moat_runtime::state::{State, StateOptions};

/// Every process on the host.
struct NoContainers;

impl Attribution for NoContainers {
    fn container_of(&mut self, _pid: u32, _leaf: Option<&str>) -> Option<Arc<ContainerInfo>> {
        None
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if selector % 2 == 1 {
        let (events, _malformed) = count_datagram(rest);
        assert!(events <= rest.len());
        return;
    }
    let empty_proc = std::env::temp_dir().join("moat-fuzz-empty-proc");
    let mut state = State::new(
        StateOptions {
            proc_root: empty_proc,
            ..StateOptions::default()
        },
        Box::new(NoContainers),
    );
    for record in rest.chunks(1552) {
        if let Ok(event) = decode(record, 0) {
            let _ = state.apply(event);
        }
    }
});
