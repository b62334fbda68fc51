//! Compiles the eBPF programs in `bpf/` with clang into `$OUT_DIR/moat.bpf.o`, which
//! `source::ebpf` embeds. Without clang the build goes on with an empty object and a warning;
//! the eBPF source then reports at run time that this binary was built without it.

use std::env;
use std::path::PathBuf;
use std::process::Command;

const SOURCE: &str = "bpf/moat.bpf.c";

fn main() {
    println!("cargo:rerun-if-changed={SOURCE}");
    println!("cargo:rerun-if-env-changed=CLANG");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let object = out_dir.join("moat.bpf.o");
    let clang = env::var("CLANG").unwrap_or_else(|_| "clang".to_string());
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let (target_arch_define, multiarch) = match arch.as_str() {
        "x86_64" => ("-D__TARGET_ARCH_x86", "x86_64-linux-gnu"),
        "aarch64" => ("-D__TARGET_ARCH_arm64", "aarch64-linux-gnu"),
        _ => ("", ""),
    };
    let mut command = Command::new(&clang);
    command.args(["-O2", "-g", "-target", "bpf", "-Wall", "-Werror"]);
    if !target_arch_define.is_empty() {
        command.arg(target_arch_define);
        command.arg(format!("-I/usr/include/{multiarch}"));
    }
    command.args(["-c", SOURCE, "-o"]).arg(&object);
    match command.status() {
        Ok(status) if status.success() => {
            println!("cargo:rustc-env=MOAT_BPF_BUILT=1");
        }
        Ok(status) => panic!("{clang} failed to compile {SOURCE} ({status})"),
        Err(error) => {
            println!(
                "cargo:warning=eBPF programs not built: cannot run {clang} ({error}); \
                 `moat runtime watch` will fall back to the proc connector and fanotify"
            );
            std::fs::write(&object, []).expect("write the empty eBPF object");
            println!("cargo:rustc-env=MOAT_BPF_BUILT=0");
        }
    }
}
