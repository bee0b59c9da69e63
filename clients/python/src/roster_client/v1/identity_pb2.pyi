import datetime

from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class IdentityState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IDENTITY_STATE_UNSPECIFIED: _ClassVar[IdentityState]
    IDENTITY_STATE_ACTIVE: _ClassVar[IdentityState]
    IDENTITY_STATE_REVOKED: _ClassVar[IdentityState]

class SessionDenialReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SESSION_DENIAL_REASON_UNSPECIFIED: _ClassVar[SessionDenialReason]
    SESSION_DENIAL_REASON_NO_SESSION: _ClassVar[SessionDenialReason]
    SESSION_DENIAL_REASON_EXPIRED: _ClassVar[SessionDenialReason]
IDENTITY_STATE_UNSPECIFIED: IdentityState
IDENTITY_STATE_ACTIVE: IdentityState
IDENTITY_STATE_REVOKED: IdentityState
SESSION_DENIAL_REASON_UNSPECIFIED: SessionDenialReason
SESSION_DENIAL_REASON_NO_SESSION: SessionDenialReason
SESSION_DENIAL_REASON_EXPIRED: SessionDenialReason

class Identity(_message.Message):
    __slots__ = ("identity_id", "display_name", "email", "avatar_url", "state", "create_time", "revoke_time")
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    AVATAR_URL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    identity_id: str
    display_name: str
    email: str
    avatar_url: str
    state: IdentityState
    create_time: _timestamp_pb2.Timestamp
    revoke_time: _timestamp_pb2.Timestamp
    def __init__(self, identity_id: _Optional[str] = ..., display_name: _Optional[str] = ..., email: _Optional[str] = ..., avatar_url: _Optional[str] = ..., state: _Optional[_Union[IdentityState, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoke_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateIdentityRequest(_message.Message):
    __slots__ = ("identity", "request_id")
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    identity: Identity
    request_id: str
    def __init__(self, identity: _Optional[_Union[Identity, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetIdentityRequest(_message.Message):
    __slots__ = ("identity_id",)
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    identity_id: str
    def __init__(self, identity_id: _Optional[str] = ...) -> None: ...

class BatchGetIdentitiesRequest(_message.Message):
    __slots__ = ("identity_ids", "hide_inactive")
    IDENTITY_IDS_FIELD_NUMBER: _ClassVar[int]
    HIDE_INACTIVE_FIELD_NUMBER: _ClassVar[int]
    identity_ids: _containers.RepeatedScalarFieldContainer[str]
    hide_inactive: bool
    def __init__(self, identity_ids: _Optional[_Iterable[str]] = ..., hide_inactive: _Optional[bool] = ...) -> None: ...

class BatchGetIdentitiesResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[IdentityLookup]
    def __init__(self, results: _Optional[_Iterable[_Union[IdentityLookup, _Mapping]]] = ...) -> None: ...

class IdentityLookup(_message.Message):
    __slots__ = ("identity_id", "found", "identity")
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    FOUND_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    identity_id: str
    found: bool
    identity: Identity
    def __init__(self, identity_id: _Optional[str] = ..., found: _Optional[bool] = ..., identity: _Optional[_Union[Identity, _Mapping]] = ...) -> None: ...

class SetRevocationPasswordRequest(_message.Message):
    __slots__ = ("identity_id", "password", "request_id")
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    identity_id: str
    password: str
    request_id: str
    def __init__(self, identity_id: _Optional[str] = ..., password: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RevokeIdentityRequest(_message.Message):
    __slots__ = ("identity_id", "revocation_password", "package_id", "request_id")
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    REVOCATION_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    identity_id: str
    revocation_password: str
    package_id: str
    request_id: str
    def __init__(self, identity_id: _Optional[str] = ..., revocation_password: _Optional[str] = ..., package_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class SignInRequest(_message.Message):
    __slots__ = ("identity_id", "username", "password")
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    identity_id: str
    username: str
    password: str
    def __init__(self, identity_id: _Optional[str] = ..., username: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class SignInResponse(_message.Message):
    __slots__ = ("session_token", "session")
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session_token: str
    session: Session
    def __init__(self, session_token: _Optional[str] = ..., session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ("session_id", "identity_id", "package_id", "credential_id", "create_time", "expire_time")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_ID_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    identity_id: str
    package_id: str
    credential_id: str
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, session_id: _Optional[str] = ..., identity_id: _Optional[str] = ..., package_id: _Optional[str] = ..., credential_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ValidateSessionRequest(_message.Message):
    __slots__ = ("session_token",)
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    session_token: str
    def __init__(self, session_token: _Optional[str] = ...) -> None: ...

class ValidateSessionResponse(_message.Message):
    __slots__ = ("valid", "denial_reason", "session", "identity_state")
    VALID_FIELD_NUMBER: _ClassVar[int]
    DENIAL_REASON_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_STATE_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    denial_reason: SessionDenialReason
    session: Session
    identity_state: IdentityState
    def __init__(self, valid: _Optional[bool] = ..., denial_reason: _Optional[_Union[SessionDenialReason, str]] = ..., session: _Optional[_Union[Session, _Mapping]] = ..., identity_state: _Optional[_Union[IdentityState, str]] = ...) -> None: ...

class SignOutRequest(_message.Message):
    __slots__ = ("session_token", "request_id")
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    session_token: str
    request_id: str
    def __init__(self, session_token: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...
