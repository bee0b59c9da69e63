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
