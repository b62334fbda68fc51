//! Opens arbitrary bytes as a docker-archive (via Target::parse sniffing) and walks every layer
//! with small limits: must never panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_artifact::{open, Limits, OpenOptions, Opened, Target};

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("image.tar");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let limits = Limits {
        max_file_size: 1 << 20,
        max_layer_bytes: 8 << 20,
        max_entries: 10_000,
        max_ratio: 100,
    };
    let options = OpenOptions {
        limits,
        ..OpenOptions::default()
    };
    for target in [
        Target::DockerArchive(path.clone()),
        Target::OciArchive {
            file: path.clone(),
            tag: None,
        },
    ] {
        let Ok(Opened::Image(image)) = open(&target, &options) else {
            continue;
        };
        for index in 0..image.metadata.layers.len() {
            let _ = image.walk_layer(index, &mut |entry| {
                let _ = entry.contents(64 << 10);
                Ok(())
            });
        }
    }
    let _ = Target::parse(path.to_str().unwrap_or(""));
});
