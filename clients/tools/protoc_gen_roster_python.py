"""protoc plugin: Python code for the roster_client package.

buf can run protoc's built-in `python` and `pyi` generators, but the gRPC
stub generator of grpcio-tools is linked into its bundled protoc rather than
shipped as a `protoc-gen-*` plugin, so buf cannot reach it. This plugin takes
buf's CodeGeneratorRequest and produces, with the pinned tools in
clients/tools/.venv:

- `*_pb2.py` + `*_pb2.pyi` (messages and their type stubs) and `*_pb2_grpc.py`
  (stubs) from grpcio-tools' bundled protoc, fed buf's descriptors;
- `*_pb2_grpc.pyi` (typed stubs) from mypy-protobuf's protoc-gen-mypy_grpc.

Every file is moved from `roster/v1/` to `roster_client/v1/` and its imports
rewritten to match, so the distribution ships the single import package
`roster_client` instead of claiming a top-level `roster` package.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2

SOURCE_PREFIX = "roster/v1/"
TARGET_PREFIX = "roster_client/v1/"

# Only import statements and module references are rewritten; serialized
# descriptors inside *_pb2.py mention `roster.v1.<Type>` (capitalised), which
# must stay as is, so the patterns only match `roster.v1.<module>_pb2`.
_FROM_IMPORT = re.compile(r"^from roster\.v1 import ", re.MULTILINE)
_MODULE_REF = re.compile(r"\broster\.v1\.(\w+_pb2(?:_grpc)?)\b")


def _rewrite(content: str) -> str:
    content = _FROM_IMPORT.sub("from roster_client.v1 import ", content)
    return _MODULE_REF.sub(r"roster_client.v1.\1", content)


def _protoc(request: plugin_pb2.CodeGeneratorRequest) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        fds = descriptor_pb2.FileDescriptorSet(file=request.proto_file)
        fds_path = os.path.join(tmp, "in.binpb")
        with open(fds_path, "wb") as f:
            f.write(fds.SerializeToString())
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        cmd = [
            sys.executable, "-m", "grpc_tools.protoc",
            f"--descriptor_set_in={fds_path}",
            f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}",
            *request.file_to_generate,
        ]
        subprocess.run(cmd, check=True, stdout=sys.stderr)
        files = {}
        for root, _, names in os.walk(out):
            for name in names:
                path = os.path.join(root, name)
                with open(path, encoding="utf-8") as f:
                    files[os.path.relpath(path, out)] = f.read()
        return files


def _mypy_grpc(raw_request: bytes) -> dict[str, str]:
    exe = os.path.join(os.path.dirname(sys.executable), "protoc-gen-mypy_grpc")
    res = subprocess.run([exe], input=raw_request, capture_output=True, check=True)
    response = plugin_pb2.CodeGeneratorResponse.FromString(res.stdout)
    if response.error:
        raise RuntimeError(f"protoc-gen-mypy_grpc: {response.error}")
    return {f.name: f.content for f in response.file}


INIT = '''"""Generated messages and gRPC stubs for the roster.v1 API (do not edit).

Regenerate with scripts/clients/generate.sh from proto/roster/v1.
"""
'''


def main() -> None:
    raw = sys.stdin.buffer.read()
    request = plugin_pb2.CodeGeneratorRequest.FromString(raw)
    response = plugin_pb2.CodeGeneratorResponse(
        supported_features=plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    )
    try:
        files = {**_protoc(request), **_mypy_grpc(raw)}
        for name in sorted(files):
            if not name.startswith(SOURCE_PREFIX):
                raise RuntimeError(f"unexpected output outside {SOURCE_PREFIX}: {name}")
            response.file.add(
                name=TARGET_PREFIX + name[len(SOURCE_PREFIX):],
                content=_rewrite(files[name]),
            )
        response.file.add(name=TARGET_PREFIX + "__init__.py", content=INIT)
    except Exception as exc:  # reported to buf as a plugin error
        response = plugin_pb2.CodeGeneratorResponse(error=str(exc))
    sys.stdout.buffer.write(response.SerializeToString())


if __name__ == "__main__":
    main()
