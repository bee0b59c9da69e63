"""Reading Roster's rich errors (google.rpc.Status in grpc-status-details-bin)."""

from __future__ import annotations

import dataclasses
import enum
from typing import Dict, List, Optional

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from roster_client.v1 import errors_pb2

_PREFIX = "ERROR_REASON_"

#: The ErrorInfo reason codes, built from the proto enum roster.v1.ErrorReason
#: (so they cannot drift from it): ``Reason.SEAT_LIMIT_REACHED`` is the string
#: "SEAT_LIMIT_REACHED" the server sends for ERROR_REASON_SEAT_LIMIT_REACHED.
#: Members are ``str``, so ``details.reason == Reason.SEAT_LIMIT_REACHED``.
Reason = enum.Enum(  # type: ignore[misc]
    "Reason",
    [
        (name[len(_PREFIX) :], name[len(_PREFIX) :])
        for name in errors_pb2.ErrorReason.keys()
        if name != _PREFIX + "UNSPECIFIED"
    ],
    type=str,
    module=__name__,
)


@dataclasses.dataclass
class ErrorDetails:
    """What a failed call carries beyond its status code."""

    code: grpc.StatusCode
    message: str
    #: google.rpc.BadRequest: offending field path -> description.
    field_violations: Dict[str, str] = dataclasses.field(default_factory=dict)
    #: google.rpc.ErrorInfo (domain "roster.dev"), when present.
    error_info: Optional[error_details_pb2.ErrorInfo] = None
    #: Every detail as sent, for types not unpacked above.
    raw: List[object] = dataclasses.field(default_factory=list)

    @property
    def reason(self) -> str:
        """ErrorInfo reason such as SEAT_LIMIT_REACHED, or ""."""
        return self.error_info.reason if self.error_info else ""


def error_details(err: grpc.RpcError) -> ErrorDetails:
    """Decodes the google.rpc.Status details of a failed call."""
    call: grpc.Call = err  # type: ignore[assignment]
    out = ErrorDetails(code=call.code(), message=call.details() or "")
    status = rpc_status.from_call(call)
    if status is None:
        return out
    for detail in status.details:
        out.raw.append(detail)
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            for v in bad.field_violations:
                out.field_violations[v.field] = v.description
        elif detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            out.error_info = info
    return out
