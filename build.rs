//! Compiles `proto/roster/v1/*.proto` without a system `protoc`: `protox`
//! parses the files (well-known types included), `tonic-prost-build` turns
//! the descriptors into messages, clients and servers, and the encoded
//! descriptor set is kept for gRPC reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = PathBuf::from("proto");
    let mut files: Vec<PathBuf> = std::fs::read_dir(proto_dir.join("roster/v1"))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "proto"))
        .collect();
    files.sort();

    // tonic-prost-build 0.14 no longer prints rerun-if-changed for us.
    println!("cargo:rerun-if-changed=proto");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    git_commit();

    let mut compiler = protox::Compiler::new([&proto_dir])?;
    compiler.include_source_info(true).include_imports(true);
    for file in &files {
        compiler.open_file(file.strip_prefix(&proto_dir)?)?;
    }

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("roster_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;

    // Our codec answers undecodable requests with INVALID_ARGUMENT.
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .codec_path("crate::grpc::codec::RosterCodec")
        .compile_fds(compiler.file_descriptor_set())?;

    // The benchmark's echo baseline, outside the public API.
    println!("cargo:rerun-if-changed=bench/echo.proto");
    let echo = protox::compile(["echo.proto"], ["bench"])?;
    tonic_prost_build::configure().compile_fds(echo)?;
    Ok(())
}

/// `ROSTER_GIT_COMMIT` for the build-info metric: taken from the
/// environment when set (image builds without `.git`), else from git,
/// else `unknown`.
fn git_commit() {
    println!("cargo:rerun-if-env-changed=ROSTER_GIT_COMMIT");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_owned())
    };
    let commit = std::env::var("ROSTER_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    // HEAD's reflog changes on every commit and checkout.
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/logs/HEAD");
    }
    println!("cargo:rustc-env=ROSTER_GIT_COMMIT={commit}");
}
