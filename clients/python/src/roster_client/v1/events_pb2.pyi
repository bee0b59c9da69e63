import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from roster_client.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_TYPE_UNSPECIFIED: _ClassVar[EventType]
    EVENT_TYPE_IDENTITY_CREATED: _ClassVar[EventType]
    EVENT_TYPE_REVOCATION_PASSWORD_SET: _ClassVar[EventType]
    EVENT_TYPE_IDENTITY_REVOKED: _ClassVar[EventType]
    EVENT_TYPE_SESSION_STARTED: _ClassVar[EventType]
    EVENT_TYPE_SESSION_ENDED: _ClassVar[EventType]
    EVENT_TYPE_PACKAGE_CREATED: _ClassVar[EventType]
    EVENT_TYPE_PACKAGE_UPDATED: _ClassVar[EventType]
    EVENT_TYPE_CREDENTIAL_ISSUED: _ClassVar[EventType]
    EVENT_TYPE_CREDENTIAL_DELETED: _ClassVar[EventType]
    EVENT_TYPE_IDENTITY_ATTACHED: _ClassVar[EventType]
    EVENT_TYPE_IDENTITY_DETACHED: _ClassVar[EventType]
    EVENT_TYPE_ORGANIZATION_CREATED: _ClassVar[EventType]
    EVENT_TYPE_ORGANIZATION_UPDATED: _ClassVar[EventType]
    EVENT_TYPE_MEMBER_ADDED: _ClassVar[EventType]
    EVENT_TYPE_MEMBER_ROLE_UPDATED: _ClassVar[EventType]
    EVENT_TYPE_MEMBER_DEACTIVATED: _ClassVar[EventType]
    EVENT_TYPE_MEMBER_REACTIVATED: _ClassVar[EventType]
    EVENT_TYPE_MEMBER_REMOVED: _ClassVar[EventType]
    EVENT_TYPE_ROOM_CREATED: _ClassVar[EventType]
    EVENT_TYPE_ROOM_MEMBER_ADDED: _ClassVar[EventType]
    EVENT_TYPE_ROOM_MEMBER_UPDATED: _ClassVar[EventType]
    EVENT_TYPE_ROOM_MEMBER_REMOVED: _ClassVar[EventType]
    EVENT_TYPE_ASSIGNMENT_CREATED: _ClassVar[EventType]
    EVENT_TYPE_ASSIGNMENTS_TRANSFERRED: _ClassVar[EventType]
    EVENT_TYPE_SERVICE_KEY_CREATED: _ClassVar[EventType]
    EVENT_TYPE_SCHEDULED_CHANGE_CREATED: _ClassVar[EventType]
    EVENT_TYPE_SCHEDULED_CHANGE_CANCELLED: _ClassVar[EventType]
    EVENT_TYPE_SCHEDULED_CHANGE_EXECUTED: _ClassVar[EventType]
    EVENT_TYPE_SCHEDULED_CHANGE_FAILED: _ClassVar[EventType]
    EVENT_TYPE_DEACTIVATION_RETURN_DUE: _ClassVar[EventType]
    EVENT_TYPE_MEMBER_RESTORED: _ClassVar[EventType]
    EVENT_TYPE_SCIM_TOKEN_CREATED: _ClassVar[EventType]
    EVENT_TYPE_SCIM_TOKEN_REVOKED: _ClassVar[EventType]
    EVENT_TYPE_SCIM_USER_UPDATED: _ClassVar[EventType]
    EVENT_TYPE_ROOM_UPDATED: _ClassVar[EventType]
    EVENT_TYPE_ROOM_DELETED: _ClassVar[EventType]
    EVENT_TYPE_LEFT_WITHOUT_ADMIN: _ClassVar[EventType]
EVENT_TYPE_UNSPECIFIED: EventType
EVENT_TYPE_IDENTITY_CREATED: EventType
EVENT_TYPE_REVOCATION_PASSWORD_SET: EventType
EVENT_TYPE_IDENTITY_REVOKED: EventType
EVENT_TYPE_SESSION_STARTED: EventType
EVENT_TYPE_SESSION_ENDED: EventType
EVENT_TYPE_PACKAGE_CREATED: EventType
EVENT_TYPE_PACKAGE_UPDATED: EventType
EVENT_TYPE_CREDENTIAL_ISSUED: EventType
EVENT_TYPE_CREDENTIAL_DELETED: EventType
EVENT_TYPE_IDENTITY_ATTACHED: EventType
EVENT_TYPE_IDENTITY_DETACHED: EventType
EVENT_TYPE_ORGANIZATION_CREATED: EventType
EVENT_TYPE_ORGANIZATION_UPDATED: EventType
EVENT_TYPE_MEMBER_ADDED: EventType
EVENT_TYPE_MEMBER_ROLE_UPDATED: EventType
EVENT_TYPE_MEMBER_DEACTIVATED: EventType
EVENT_TYPE_MEMBER_REACTIVATED: EventType
EVENT_TYPE_MEMBER_REMOVED: EventType
EVENT_TYPE_ROOM_CREATED: EventType
EVENT_TYPE_ROOM_MEMBER_ADDED: EventType
EVENT_TYPE_ROOM_MEMBER_UPDATED: EventType
EVENT_TYPE_ROOM_MEMBER_REMOVED: EventType
EVENT_TYPE_ASSIGNMENT_CREATED: EventType
EVENT_TYPE_ASSIGNMENTS_TRANSFERRED: EventType
EVENT_TYPE_SERVICE_KEY_CREATED: EventType
EVENT_TYPE_SCHEDULED_CHANGE_CREATED: EventType
EVENT_TYPE_SCHEDULED_CHANGE_CANCELLED: EventType
EVENT_TYPE_SCHEDULED_CHANGE_EXECUTED: EventType
EVENT_TYPE_SCHEDULED_CHANGE_FAILED: EventType
EVENT_TYPE_DEACTIVATION_RETURN_DUE: EventType
EVENT_TYPE_MEMBER_RESTORED: EventType
EVENT_TYPE_SCIM_TOKEN_CREATED: EventType
EVENT_TYPE_SCIM_TOKEN_REVOKED: EventType
EVENT_TYPE_SCIM_USER_UPDATED: EventType
EVENT_TYPE_ROOM_UPDATED: EventType
EVENT_TYPE_ROOM_DELETED: EventType
EVENT_TYPE_LEFT_WITHOUT_ADMIN: EventType

class Event(_message.Message):
    __slots__ = ("cursor", "type", "actor", "subject_id", "reason", "commit_time", "identity_id", "organization_id", "package_id", "room_id", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    COMMIT_TIME_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    cursor: str
    type: EventType
    actor: _common_pb2.Actor
    subject_id: str
    reason: str
    commit_time: _timestamp_pb2.Timestamp
    identity_id: str
    organization_id: str
    package_id: str
    room_id: str
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, cursor: _Optional[str] = ..., type: _Optional[_Union[EventType, str]] = ..., actor: _Optional[_Union[_common_pb2.Actor, _Mapping]] = ..., subject_id: _Optional[str] = ..., reason: _Optional[str] = ..., commit_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., identity_id: _Optional[str] = ..., organization_id: _Optional[str] = ..., package_id: _Optional[str] = ..., room_id: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class EventFilter(_message.Message):
    __slots__ = ("organization_id", "package_id", "identity_id", "types")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    package_id: str
    identity_id: str
    types: _containers.RepeatedScalarFieldContainer[EventType]
    def __init__(self, organization_id: _Optional[str] = ..., package_id: _Optional[str] = ..., identity_id: _Optional[str] = ..., types: _Optional[_Iterable[_Union[EventType, str]]] = ...) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ("cursor", "filter")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    cursor: str
    filter: EventFilter
    def __init__(self, cursor: _Optional[str] = ..., filter: _Optional[_Union[EventFilter, _Mapping]] = ...) -> None: ...

class WatchEventsResponse(_message.Message):
    __slots__ = ("event", "cursor")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    event: Event
    cursor: str
    def __init__(self, event: _Optional[_Union[Event, _Mapping]] = ..., cursor: _Optional[str] = ...) -> None: ...

class ListAuditEventsRequest(_message.Message):
    __slots__ = ("filter", "page_size", "page_token")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    filter: EventFilter
    page_size: int
    page_token: str
    def __init__(self, filter: _Optional[_Union[EventFilter, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAuditEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
