import datetime

from google.protobuf import any_pb2 as _any_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from roster_client.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MemberRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEMBER_ROLE_UNSPECIFIED: _ClassVar[MemberRole]
    MEMBER_ROLE_ADMIN: _ClassVar[MemberRole]
    MEMBER_ROLE_MEMBER: _ClassVar[MemberRole]
    MEMBER_ROLE_GUEST: _ClassVar[MemberRole]

class MemberState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEMBER_STATE_UNSPECIFIED: _ClassVar[MemberState]
    MEMBER_STATE_ACTIVE: _ClassVar[MemberState]
    MEMBER_STATE_DEACTIVATED: _ClassVar[MemberState]

class DeactivationReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEACTIVATION_REASON_UNSPECIFIED: _ClassVar[DeactivationReason]
    DEACTIVATION_REASON_PARENTAL_LEAVE: _ClassVar[DeactivationReason]
    DEACTIVATION_REASON_SABBATICAL: _ClassVar[DeactivationReason]
    DEACTIVATION_REASON_PROJECT_PAUSED: _ClassVar[DeactivationReason]
    DEACTIVATION_REASON_OTHER: _ClassVar[DeactivationReason]
    DEACTIVATION_REASON_INACTIVITY: _ClassVar[DeactivationReason]

class RoomRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROOM_ROLE_UNSPECIFIED: _ClassVar[RoomRole]
    ROOM_ROLE_ADMIN: _ClassVar[RoomRole]
    ROOM_ROLE_MEMBER: _ClassVar[RoomRole]

class RoomPermission(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROOM_PERMISSION_UNSPECIFIED: _ClassVar[RoomPermission]
    ROOM_PERMISSION_DELETE_ENTRIES: _ClassVar[RoomPermission]

class OffboardingAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OFFBOARDING_ACTION_UNSPECIFIED: _ClassVar[OffboardingAction]
    OFFBOARDING_ACTION_DEACTIVATE: _ClassVar[OffboardingAction]
    OFFBOARDING_ACTION_REMOVE: _ClassVar[OffboardingAction]

class AssignmentKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ASSIGNMENT_KIND_UNSPECIFIED: _ClassVar[AssignmentKind]
    ASSIGNMENT_KIND_TASK: _ClassVar[AssignmentKind]
    ASSIGNMENT_KIND_APPOINTMENT: _ClassVar[AssignmentKind]

class ProfileStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROFILE_STATUS_UNSPECIFIED: _ClassVar[ProfileStatus]
    PROFILE_STATUS_ACTIVE: _ClassVar[ProfileStatus]
    PROFILE_STATUS_DEACTIVATED: _ClassVar[ProfileStatus]
    PROFILE_STATUS_UNKNOWN: _ClassVar[ProfileStatus]

class AccessDenialReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCESS_DENIAL_REASON_UNSPECIFIED: _ClassVar[AccessDenialReason]
    ACCESS_DENIAL_REASON_NOT_MEMBER: _ClassVar[AccessDenialReason]
    ACCESS_DENIAL_REASON_DEACTIVATED: _ClassVar[AccessDenialReason]
    ACCESS_DENIAL_REASON_REVOKED: _ClassVar[AccessDenialReason]
    ACCESS_DENIAL_REASON_NOT_IN_ROOM: _ClassVar[AccessDenialReason]
    ACCESS_DENIAL_REASON_UNKNOWN_IDENTITY: _ClassVar[AccessDenialReason]

class ScheduledChangeState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCHEDULED_CHANGE_STATE_UNSPECIFIED: _ClassVar[ScheduledChangeState]
    SCHEDULED_CHANGE_STATE_PENDING: _ClassVar[ScheduledChangeState]
    SCHEDULED_CHANGE_STATE_DONE: _ClassVar[ScheduledChangeState]
    SCHEDULED_CHANGE_STATE_FAILED: _ClassVar[ScheduledChangeState]
    SCHEDULED_CHANGE_STATE_CANCELLED: _ClassVar[ScheduledChangeState]
MEMBER_ROLE_UNSPECIFIED: MemberRole
MEMBER_ROLE_ADMIN: MemberRole
MEMBER_ROLE_MEMBER: MemberRole
MEMBER_ROLE_GUEST: MemberRole
MEMBER_STATE_UNSPECIFIED: MemberState
MEMBER_STATE_ACTIVE: MemberState
MEMBER_STATE_DEACTIVATED: MemberState
DEACTIVATION_REASON_UNSPECIFIED: DeactivationReason
DEACTIVATION_REASON_PARENTAL_LEAVE: DeactivationReason
DEACTIVATION_REASON_SABBATICAL: DeactivationReason
DEACTIVATION_REASON_PROJECT_PAUSED: DeactivationReason
DEACTIVATION_REASON_OTHER: DeactivationReason
DEACTIVATION_REASON_INACTIVITY: DeactivationReason
ROOM_ROLE_UNSPECIFIED: RoomRole
ROOM_ROLE_ADMIN: RoomRole
ROOM_ROLE_MEMBER: RoomRole
ROOM_PERMISSION_UNSPECIFIED: RoomPermission
ROOM_PERMISSION_DELETE_ENTRIES: RoomPermission
OFFBOARDING_ACTION_UNSPECIFIED: OffboardingAction
OFFBOARDING_ACTION_DEACTIVATE: OffboardingAction
OFFBOARDING_ACTION_REMOVE: OffboardingAction
ASSIGNMENT_KIND_UNSPECIFIED: AssignmentKind
ASSIGNMENT_KIND_TASK: AssignmentKind
ASSIGNMENT_KIND_APPOINTMENT: AssignmentKind
PROFILE_STATUS_UNSPECIFIED: ProfileStatus
PROFILE_STATUS_ACTIVE: ProfileStatus
PROFILE_STATUS_DEACTIVATED: ProfileStatus
PROFILE_STATUS_UNKNOWN: ProfileStatus
ACCESS_DENIAL_REASON_UNSPECIFIED: AccessDenialReason
ACCESS_DENIAL_REASON_NOT_MEMBER: AccessDenialReason
ACCESS_DENIAL_REASON_DEACTIVATED: AccessDenialReason
ACCESS_DENIAL_REASON_REVOKED: AccessDenialReason
ACCESS_DENIAL_REASON_NOT_IN_ROOM: AccessDenialReason
ACCESS_DENIAL_REASON_UNKNOWN_IDENTITY: AccessDenialReason
SCHEDULED_CHANGE_STATE_UNSPECIFIED: ScheduledChangeState
SCHEDULED_CHANGE_STATE_PENDING: ScheduledChangeState
SCHEDULED_CHANGE_STATE_DONE: ScheduledChangeState
SCHEDULED_CHANGE_STATE_FAILED: ScheduledChangeState
SCHEDULED_CHANGE_STATE_CANCELLED: ScheduledChangeState

class Organization(_message.Message):
    __slots__ = ("organization_id", "display_name", "package_id", "parent_organization_id", "guest_inactivity_deactivation", "create_time", "removal_undo_window")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    GUEST_INACTIVITY_DEACTIVATION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REMOVAL_UNDO_WINDOW_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    display_name: str
    package_id: str
    parent_organization_id: str
    guest_inactivity_deactivation: _duration_pb2.Duration
    create_time: _timestamp_pb2.Timestamp
    removal_undo_window: _duration_pb2.Duration
    def __init__(self, organization_id: _Optional[str] = ..., display_name: _Optional[str] = ..., package_id: _Optional[str] = ..., parent_organization_id: _Optional[str] = ..., guest_inactivity_deactivation: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., removal_undo_window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class CreateOrganizationRequest(_message.Message):
    __slots__ = ("organization", "admin_identity_id", "request_id")
    ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    ADMIN_IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    organization: Organization
    admin_identity_id: str
    request_id: str
    def __init__(self, organization: _Optional[_Union[Organization, _Mapping]] = ..., admin_identity_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetOrganizationRequest(_message.Message):
    __slots__ = ("organization_id",)
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    def __init__(self, organization_id: _Optional[str] = ...) -> None: ...

class UpdateOrganizationSettingsRequest(_message.Message):
    __slots__ = ("organization", "update_mask", "request_id")
    ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    organization: Organization
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    def __init__(self, organization: _Optional[_Union[Organization, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class Member(_message.Message):
    __slots__ = ("organization_id", "identity_id", "role", "state", "join_time", "last_activity_time", "deactivation")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    JOIN_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_ACTIVITY_TIME_FIELD_NUMBER: _ClassVar[int]
    DEACTIVATION_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    identity_id: str
    role: MemberRole
    state: MemberState
    join_time: _timestamp_pb2.Timestamp
    last_activity_time: _timestamp_pb2.Timestamp
    deactivation: Deactivation
    def __init__(self, organization_id: _Optional[str] = ..., identity_id: _Optional[str] = ..., role: _Optional[_Union[MemberRole, str]] = ..., state: _Optional[_Union[MemberState, str]] = ..., join_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_activity_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deactivation: _Optional[_Union[Deactivation, _Mapping]] = ...) -> None: ...

class Deactivation(_message.Message):
    __slots__ = ("reason", "note", "expected_return_time", "deactivate_time", "actor_id")
    REASON_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_RETURN_TIME_FIELD_NUMBER: _ClassVar[int]
    DEACTIVATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    reason: DeactivationReason
    note: str
    expected_return_time: _timestamp_pb2.Timestamp
    deactivate_time: _timestamp_pb2.Timestamp
    actor_id: str
    def __init__(self, reason: _Optional[_Union[DeactivationReason, str]] = ..., note: _Optional[str] = ..., expected_return_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deactivate_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor_id: _Optional[str] = ...) -> None: ...

class AddMemberRequest(_message.Message):
    __slots__ = ("organization_id", "identity_id", "role", "request_id")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    identity_id: str
    role: MemberRole
    request_id: str
    def __init__(self, organization_id: _Optional[str] = ..., identity_id: _Optional[str] = ..., role: _Optional[_Union[MemberRole, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateMemberRoleRequest(_message.Message):
    __slots__ = ("organization_id", "identity_id", "role", "request_id")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    identity_id: str
    role: MemberRole
    request_id: str
    def __init__(self, organization_id: _Optional[str] = ..., identity_id: _Optional[str] = ..., role: _Optional[_Union[MemberRole, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ListMembersRequest(_message.Message):
    __slots__ = ("organization_id", "state", "role", "page_size", "page_token")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    state: MemberState
    role: MemberRole
    page_size: int
    page_token: str
    def __init__(self, organization_id: _Optional[str] = ..., state: _Optional[_Union[MemberState, str]] = ..., role: _Optional[_Union[MemberRole, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMembersResponse(_message.Message):
    __slots__ = ("members", "next_page_token")
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[Member]
    next_page_token: str
    def __init__(self, members: _Optional[_Iterable[_Union[Member, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Room(_message.Message):
    __slots__ = ("room_id", "organization_id", "display_name", "create_time")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    organization_id: str
    display_name: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, room_id: _Optional[str] = ..., organization_id: _Optional[str] = ..., display_name: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateRoomRequest(_message.Message):
    __slots__ = ("room", "admin_identity_id", "request_id")
    ROOM_FIELD_NUMBER: _ClassVar[int]
    ADMIN_IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    room: Room
    admin_identity_id: str
    request_id: str
    def __init__(self, room: _Optional[_Union[Room, _Mapping]] = ..., admin_identity_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RoomMember(_message.Message):
    __slots__ = ("room_id", "identity_id", "role", "permissions", "member_state")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    MEMBER_STATE_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    identity_id: str
    role: RoomRole
    permissions: _containers.RepeatedScalarFieldContainer[RoomPermission]
    member_state: MemberState
    def __init__(self, room_id: _Optional[str] = ..., identity_id: _Optional[str] = ..., role: _Optional[_Union[RoomRole, str]] = ..., permissions: _Optional[_Iterable[_Union[RoomPermission, str]]] = ..., member_state: _Optional[_Union[MemberState, str]] = ...) -> None: ...

class AddRoomMemberRequest(_message.Message):
    __slots__ = ("room_id", "identity_id", "role", "permissions", "without_permissions", "request_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    WITHOUT_PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    identity_id: str
    role: RoomRole
    permissions: _containers.RepeatedScalarFieldContainer[RoomPermission]
    without_permissions: bool
    request_id: str
    def __init__(self, room_id: _Optional[str] = ..., identity_id: _Optional[str] = ..., role: _Optional[_Union[RoomRole, str]] = ..., permissions: _Optional[_Iterable[_Union[RoomPermission, str]]] = ..., without_permissions: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateRoomMemberRequest(_message.Message):
    __slots__ = ("room_member", "update_mask", "request_id")
    ROOM_MEMBER_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    room_member: RoomMember
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    def __init__(self, room_member: _Optional[_Union[RoomMember, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class RemoveRoomMemberRequest(_message.Message):
    __slots__ = ("room_id", "identity_id", "request_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    identity_id: str
    request_id: str
    def __init__(self, room_id: _Optional[str] = ..., identity_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeleteRoomRequest(_message.Message):
    __slots__ = ("room_id", "request_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    request_id: str
    def __init__(self, room_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class LeaveRoomRequest(_message.Message):
    __slots__ = ("room_id", "successor_identity_id", "request_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    SUCCESSOR_IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    successor_identity_id: str
    request_id: str
    def __init__(self, room_id: _Optional[str] = ..., successor_identity_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ListRoomMembersRequest(_message.Message):
    __slots__ = ("room_id", "page_size", "page_token")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    page_size: int
    page_token: str
    def __init__(self, room_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRoomMembersResponse(_message.Message):
    __slots__ = ("room_members", "next_page_token")
    ROOM_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    room_members: _containers.RepeatedCompositeFieldContainer[RoomMember]
    next_page_token: str
    def __init__(self, room_members: _Optional[_Iterable[_Union[RoomMember, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeactivateMemberRequest(_message.Message):
    __slots__ = ("organization_id", "identity_id", "reason", "note", "expected_return_time", "successor_identity_id", "etag", "request_id")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_RETURN_TIME_FIELD_NUMBER: _ClassVar[int]
    SUCCESSOR_IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    identity_id: str
    reason: DeactivationReason
    note: str
    expected_return_time: _timestamp_pb2.Timestamp
    successor_identity_id: str
    etag: str
    request_id: str
    def __init__(self, organization_id: _Optional[str] = ..., identity_id: _Optional[str] = ..., reason: _Optional[_Union[DeactivationReason, str]] = ..., note: _Optional[str] = ..., expected_return_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., successor_identity_id: _Optional[str] = ..., etag: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ReactivateMemberRequest(_message.Message):
    __slots__ = ("organization_id", "identity_id", "request_id")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    identity_id: str
    request_id: str
    def __init__(self, organization_id: _Optional[str] = ..., identity_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RemoveMemberRequest(_message.Message):
    __slots__ = ("organization_id", "identity_id", "successor_identity_id", "etag", "request_id")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    SUCCESSOR_IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    identity_id: str
    successor_identity_id: str
    etag: str
    request_id: str
    def __init__(self, organization_id: _Optional[str] = ..., identity_id: _Optional[str] = ..., successor_identity_id: _Optional[str] = ..., etag: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RemoveMemberResponse(_message.Message):
    __slots__ = ("rooms_left", "assignments_dropped", "successor_room_ids", "seat_freed", "undo_expire_time")
    ROOMS_LEFT_FIELD_NUMBER: _ClassVar[int]
    ASSIGNMENTS_DROPPED_FIELD_NUMBER: _ClassVar[int]
    SUCCESSOR_ROOM_IDS_FIELD_NUMBER: _ClassVar[int]
    SEAT_FREED_FIELD_NUMBER: _ClassVar[int]
    UNDO_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    rooms_left: int
    assignments_dropped: int
    successor_room_ids: _containers.RepeatedScalarFieldContainer[str]
    seat_freed: bool
    undo_expire_time: _timestamp_pb2.Timestamp
    def __init__(self, rooms_left: _Optional[int] = ..., assignments_dropped: _Optional[int] = ..., successor_room_ids: _Optional[_Iterable[str]] = ..., seat_freed: _Optional[bool] = ..., undo_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UndoRemoveMemberRequest(_message.Message):
    __slots__ = ("organization_id", "identity_id", "request_id")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    identity_id: str
    request_id: str
    def __init__(self, organization_id: _Optional[str] = ..., identity_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class UndoRemoveMemberResponse(_message.Message):
    __slots__ = ("member", "rooms_restored", "rooms_gone", "assignments_restored", "seat_taken")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    ROOMS_RESTORED_FIELD_NUMBER: _ClassVar[int]
    ROOMS_GONE_FIELD_NUMBER: _ClassVar[int]
    ASSIGNMENTS_RESTORED_FIELD_NUMBER: _ClassVar[int]
    SEAT_TAKEN_FIELD_NUMBER: _ClassVar[int]
    member: Member
    rooms_restored: int
    rooms_gone: int
    assignments_restored: int
    seat_taken: bool
    def __init__(self, member: _Optional[_Union[Member, _Mapping]] = ..., rooms_restored: _Optional[int] = ..., rooms_gone: _Optional[int] = ..., assignments_restored: _Optional[int] = ..., seat_taken: _Optional[bool] = ...) -> None: ...

class PreviewOffboardingRequest(_message.Message):
    __slots__ = ("organization_id", "identity_id", "action", "successor_identity_id")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    SUCCESSOR_IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    identity_id: str
    action: OffboardingAction
    successor_identity_id: str
    def __init__(self, organization_id: _Optional[str] = ..., identity_id: _Optional[str] = ..., action: _Optional[_Union[OffboardingAction, str]] = ..., successor_identity_id: _Optional[str] = ...) -> None: ...

class OffboardIdentityRequest(_message.Message):
    __slots__ = ("identity_id", "package_id", "action", "successor_identity_id", "transfer_assignments_to", "validate_only", "request_id")
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    SUCCESSOR_IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_ASSIGNMENTS_TO_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    identity_id: str
    package_id: str
    action: OffboardingAction
    successor_identity_id: str
    transfer_assignments_to: str
    validate_only: bool
    request_id: str
    def __init__(self, identity_id: _Optional[str] = ..., package_id: _Optional[str] = ..., action: _Optional[_Union[OffboardingAction, str]] = ..., successor_identity_id: _Optional[str] = ..., transfer_assignments_to: _Optional[str] = ..., validate_only: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class OrganizationOffboarding(_message.Message):
    __slots__ = ("organization_id", "orphaned_room_ids", "rooms_left", "assignments_dropped", "assignments_transferred", "blocking_reasons", "unchanged")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    ORPHANED_ROOM_IDS_FIELD_NUMBER: _ClassVar[int]
    ROOMS_LEFT_FIELD_NUMBER: _ClassVar[int]
    ASSIGNMENTS_DROPPED_FIELD_NUMBER: _ClassVar[int]
    ASSIGNMENTS_TRANSFERRED_FIELD_NUMBER: _ClassVar[int]
    BLOCKING_REASONS_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    orphaned_room_ids: _containers.RepeatedScalarFieldContainer[str]
    rooms_left: int
    assignments_dropped: int
    assignments_transferred: int
    blocking_reasons: _containers.RepeatedScalarFieldContainer[str]
    unchanged: bool
    def __init__(self, organization_id: _Optional[str] = ..., orphaned_room_ids: _Optional[_Iterable[str]] = ..., rooms_left: _Optional[int] = ..., assignments_dropped: _Optional[int] = ..., assignments_transferred: _Optional[int] = ..., blocking_reasons: _Optional[_Iterable[str]] = ..., unchanged: _Optional[bool] = ...) -> None: ...

class OffboardIdentityResponse(_message.Message):
    __slots__ = ("organizations", "seat_freed", "sessions_ended", "validate_only")
    ORGANIZATIONS_FIELD_NUMBER: _ClassVar[int]
    SEAT_FREED_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_ENDED_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    organizations: _containers.RepeatedCompositeFieldContainer[OrganizationOffboarding]
    seat_freed: bool
    sessions_ended: int
    validate_only: bool
    def __init__(self, organizations: _Optional[_Iterable[_Union[OrganizationOffboarding, _Mapping]]] = ..., seat_freed: _Optional[bool] = ..., sessions_ended: _Optional[int] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class ItemStatus(_message.Message):
    __slots__ = ("code", "message", "details")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    details: _containers.RepeatedCompositeFieldContainer[_any_pb2.Any]
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., details: _Optional[_Iterable[_Union[_any_pb2.Any, _Mapping]]] = ...) -> None: ...

class BatchSummary(_message.Message):
    __slots__ = ("succeeded", "failed")
    SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    succeeded: int
    failed: int
    def __init__(self, succeeded: _Optional[int] = ..., failed: _Optional[int] = ...) -> None: ...

class AddMemberItem(_message.Message):
    __slots__ = ("identity_id", "role")
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    identity_id: str
    role: MemberRole
    def __init__(self, identity_id: _Optional[str] = ..., role: _Optional[_Union[MemberRole, str]] = ...) -> None: ...

class BatchAddMembersRequest(_message.Message):
    __slots__ = ("organization_id", "items", "atomic", "validate_only", "request_id")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    ATOMIC_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    items: _containers.RepeatedCompositeFieldContainer[AddMemberItem]
    atomic: bool
    validate_only: bool
    request_id: str
    def __init__(self, organization_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[AddMemberItem, _Mapping]]] = ..., atomic: _Optional[bool] = ..., validate_only: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class AddMemberResult(_message.Message):
    __slots__ = ("status", "member")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    status: ItemStatus
    member: Member
    def __init__(self, status: _Optional[_Union[ItemStatus, _Mapping]] = ..., member: _Optional[_Union[Member, _Mapping]] = ...) -> None: ...

class BatchAddMembersResponse(_message.Message):
    __slots__ = ("results", "summary", "validate_only")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[AddMemberResult]
    summary: BatchSummary
    validate_only: bool
    def __init__(self, results: _Optional[_Iterable[_Union[AddMemberResult, _Mapping]]] = ..., summary: _Optional[_Union[BatchSummary, _Mapping]] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class DeactivateMemberItem(_message.Message):
    __slots__ = ("identity_id", "reason", "note", "expected_return_time", "successor_identity_id")
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_RETURN_TIME_FIELD_NUMBER: _ClassVar[int]
    SUCCESSOR_IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    identity_id: str
    reason: DeactivationReason
    note: str
    expected_return_time: _timestamp_pb2.Timestamp
    successor_identity_id: str
    def __init__(self, identity_id: _Optional[str] = ..., reason: _Optional[_Union[DeactivationReason, str]] = ..., note: _Optional[str] = ..., expected_return_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., successor_identity_id: _Optional[str] = ...) -> None: ...

class BatchDeactivateMembersRequest(_message.Message):
    __slots__ = ("organization_id", "items", "atomic", "validate_only", "request_id")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    ATOMIC_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    items: _containers.RepeatedCompositeFieldContainer[DeactivateMemberItem]
    atomic: bool
    validate_only: bool
    request_id: str
    def __init__(self, organization_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[DeactivateMemberItem, _Mapping]]] = ..., atomic: _Optional[bool] = ..., validate_only: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeactivateMemberResult(_message.Message):
    __slots__ = ("status", "member")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    status: ItemStatus
    member: Member
    def __init__(self, status: _Optional[_Union[ItemStatus, _Mapping]] = ..., member: _Optional[_Union[Member, _Mapping]] = ...) -> None: ...

class BatchDeactivateMembersResponse(_message.Message):
    __slots__ = ("results", "summary", "validate_only")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[DeactivateMemberResult]
    summary: BatchSummary
    validate_only: bool
    def __init__(self, results: _Optional[_Iterable[_Union[DeactivateMemberResult, _Mapping]]] = ..., summary: _Optional[_Union[BatchSummary, _Mapping]] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class RemoveMemberItem(_message.Message):
    __slots__ = ("identity_id", "successor_identity_id")
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    SUCCESSOR_IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    identity_id: str
    successor_identity_id: str
    def __init__(self, identity_id: _Optional[str] = ..., successor_identity_id: _Optional[str] = ...) -> None: ...

class BatchRemoveMembersRequest(_message.Message):
    __slots__ = ("organization_id", "items", "atomic", "validate_only", "request_id")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    ATOMIC_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    items: _containers.RepeatedCompositeFieldContainer[RemoveMemberItem]
    atomic: bool
    validate_only: bool
    request_id: str
    def __init__(self, organization_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[RemoveMemberItem, _Mapping]]] = ..., atomic: _Optional[bool] = ..., validate_only: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class RemoveMemberResult(_message.Message):
    __slots__ = ("status", "removal")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REMOVAL_FIELD_NUMBER: _ClassVar[int]
    status: ItemStatus
    removal: RemoveMemberResponse
    def __init__(self, status: _Optional[_Union[ItemStatus, _Mapping]] = ..., removal: _Optional[_Union[RemoveMemberResponse, _Mapping]] = ...) -> None: ...

class BatchRemoveMembersResponse(_message.Message):
    __slots__ = ("results", "summary", "validate_only")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[RemoveMemberResult]
    summary: BatchSummary
    validate_only: bool
    def __init__(self, results: _Optional[_Iterable[_Union[RemoveMemberResult, _Mapping]]] = ..., summary: _Optional[_Union[BatchSummary, _Mapping]] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class PreviewOffboardingResponse(_message.Message):
    __slots__ = ("orphaned_room_ids", "room_count", "assignment_count", "seat_freed", "other_active_organization_ids", "blocking_reasons", "etag")
    ORPHANED_ROOM_IDS_FIELD_NUMBER: _ClassVar[int]
    ROOM_COUNT_FIELD_NUMBER: _ClassVar[int]
    ASSIGNMENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    SEAT_FREED_FIELD_NUMBER: _ClassVar[int]
    OTHER_ACTIVE_ORGANIZATION_IDS_FIELD_NUMBER: _ClassVar[int]
    BLOCKING_REASONS_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    orphaned_room_ids: _containers.RepeatedScalarFieldContainer[str]
    room_count: int
    assignment_count: int
    seat_freed: bool
    other_active_organization_ids: _containers.RepeatedScalarFieldContainer[str]
    blocking_reasons: _containers.RepeatedScalarFieldContainer[str]
    etag: str
    def __init__(self, orphaned_room_ids: _Optional[_Iterable[str]] = ..., room_count: _Optional[int] = ..., assignment_count: _Optional[int] = ..., seat_freed: _Optional[bool] = ..., other_active_organization_ids: _Optional[_Iterable[str]] = ..., blocking_reasons: _Optional[_Iterable[str]] = ..., etag: _Optional[str] = ...) -> None: ...

class Assignment(_message.Message):
    __slots__ = ("assignment_id", "organization_id", "room_id", "assignee_identity_id", "kind", "title", "create_time")
    ASSIGNMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    assignment_id: str
    organization_id: str
    room_id: str
    assignee_identity_id: str
    kind: AssignmentKind
    title: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, assignment_id: _Optional[str] = ..., organization_id: _Optional[str] = ..., room_id: _Optional[str] = ..., assignee_identity_id: _Optional[str] = ..., kind: _Optional[_Union[AssignmentKind, str]] = ..., title: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateAssignmentRequest(_message.Message):
    __slots__ = ("assignment", "request_id")
    ASSIGNMENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    assignment: Assignment
    request_id: str
    def __init__(self, assignment: _Optional[_Union[Assignment, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ListAssignmentsRequest(_message.Message):
    __slots__ = ("organization_id", "assignee_identity_id", "room_id", "page_size", "page_token")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    assignee_identity_id: str
    room_id: str
    page_size: int
    page_token: str
    def __init__(self, organization_id: _Optional[str] = ..., assignee_identity_id: _Optional[str] = ..., room_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAssignmentsResponse(_message.Message):
    __slots__ = ("assignments", "next_page_token")
    ASSIGNMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    assignments: _containers.RepeatedCompositeFieldContainer[Assignment]
    next_page_token: str
    def __init__(self, assignments: _Optional[_Iterable[_Union[Assignment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class TransferAssignmentsRequest(_message.Message):
    __slots__ = ("organization_id", "from_identity_id", "to_identity_id", "room_id", "request_id")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    TO_IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    from_identity_id: str
    to_identity_id: str
    room_id: str
    request_id: str
    def __init__(self, organization_id: _Optional[str] = ..., from_identity_id: _Optional[str] = ..., to_identity_id: _Optional[str] = ..., room_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class TransferAssignmentsResponse(_message.Message):
    __slots__ = ("transferred_count",)
    TRANSFERRED_COUNT_FIELD_NUMBER: _ClassVar[int]
    transferred_count: int
    def __init__(self, transferred_count: _Optional[int] = ...) -> None: ...

class ResolveProfilesRequest(_message.Message):
    __slots__ = ("organization_id", "identity_ids")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_IDS_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    identity_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, organization_id: _Optional[str] = ..., identity_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ResolveProfilesResponse(_message.Message):
    __slots__ = ("profiles",)
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    profiles: _containers.RepeatedCompositeFieldContainer[Profile]
    def __init__(self, profiles: _Optional[_Iterable[_Union[Profile, _Mapping]]] = ...) -> None: ...

class Profile(_message.Message):
    __slots__ = ("identity_id", "status", "display_name", "avatar_url", "strikethrough", "badge")
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    AVATAR_URL_FIELD_NUMBER: _ClassVar[int]
    STRIKETHROUGH_FIELD_NUMBER: _ClassVar[int]
    BADGE_FIELD_NUMBER: _ClassVar[int]
    identity_id: str
    status: ProfileStatus
    display_name: str
    avatar_url: str
    strikethrough: bool
    badge: str
    def __init__(self, identity_id: _Optional[str] = ..., status: _Optional[_Union[ProfileStatus, str]] = ..., display_name: _Optional[str] = ..., avatar_url: _Optional[str] = ..., strikethrough: _Optional[bool] = ..., badge: _Optional[str] = ...) -> None: ...

class CheckAccessRequest(_message.Message):
    __slots__ = ("identity_id", "organization_id", "room_id")
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    identity_id: str
    organization_id: str
    room_id: str
    def __init__(self, identity_id: _Optional[str] = ..., organization_id: _Optional[str] = ..., room_id: _Optional[str] = ...) -> None: ...

class CheckAccessResponse(_message.Message):
    __slots__ = ("allowed", "denial_reason", "role", "room_role", "room_permissions")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    DENIAL_REASON_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ROOM_ROLE_FIELD_NUMBER: _ClassVar[int]
    ROOM_PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    denial_reason: AccessDenialReason
    role: MemberRole
    room_role: RoomRole
    room_permissions: _containers.RepeatedScalarFieldContainer[RoomPermission]
    def __init__(self, allowed: _Optional[bool] = ..., denial_reason: _Optional[_Union[AccessDenialReason, str]] = ..., role: _Optional[_Union[MemberRole, str]] = ..., room_role: _Optional[_Union[RoomRole, str]] = ..., room_permissions: _Optional[_Iterable[_Union[RoomPermission, str]]] = ...) -> None: ...

class RecordActivityRequest(_message.Message):
    __slots__ = ("organization_id", "identity_id")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    identity_id: str
    def __init__(self, organization_id: _Optional[str] = ..., identity_id: _Optional[str] = ...) -> None: ...

class RunInactivitySweepRequest(_message.Message):
    __slots__ = ("organization_id", "dry_run", "request_id")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    dry_run: bool
    request_id: str
    def __init__(self, organization_id: _Optional[str] = ..., dry_run: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class RunInactivitySweepResponse(_message.Message):
    __slots__ = ("deactivated_members", "deactivated_count")
    DEACTIVATED_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    DEACTIVATED_COUNT_FIELD_NUMBER: _ClassVar[int]
    deactivated_members: _containers.RepeatedCompositeFieldContainer[Member]
    deactivated_count: int
    def __init__(self, deactivated_members: _Optional[_Iterable[_Union[Member, _Mapping]]] = ..., deactivated_count: _Optional[int] = ...) -> None: ...

class ScheduledChange(_message.Message):
    __slots__ = ("scheduled_change_id", "organization_id", "identity_id", "deactivate", "remove", "offboard_identity", "schedule_time", "time_zone", "state", "failure_reason", "failure_message", "created_by", "create_time", "run_time", "cancelled_by", "cancel_time", "package_id")
    SCHEDULED_CHANGE_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    DEACTIVATE_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    OFFBOARD_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_TIME_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    FAILURE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    RUN_TIME_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_BY_FIELD_NUMBER: _ClassVar[int]
    CANCEL_TIME_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_ID_FIELD_NUMBER: _ClassVar[int]
    scheduled_change_id: str
    organization_id: str
    identity_id: str
    deactivate: ScheduledDeactivation
    remove: ScheduledRemoval
    offboard_identity: ScheduledOffboarding
    schedule_time: _timestamp_pb2.Timestamp
    time_zone: str
    state: ScheduledChangeState
    failure_reason: str
    failure_message: str
    created_by: _common_pb2.Actor
    create_time: _timestamp_pb2.Timestamp
    run_time: _timestamp_pb2.Timestamp
    cancelled_by: _common_pb2.Actor
    cancel_time: _timestamp_pb2.Timestamp
    package_id: str
    def __init__(self, scheduled_change_id: _Optional[str] = ..., organization_id: _Optional[str] = ..., identity_id: _Optional[str] = ..., deactivate: _Optional[_Union[ScheduledDeactivation, _Mapping]] = ..., remove: _Optional[_Union[ScheduledRemoval, _Mapping]] = ..., offboard_identity: _Optional[_Union[ScheduledOffboarding, _Mapping]] = ..., schedule_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., time_zone: _Optional[str] = ..., state: _Optional[_Union[ScheduledChangeState, str]] = ..., failure_reason: _Optional[str] = ..., failure_message: _Optional[str] = ..., created_by: _Optional[_Union[_common_pb2.Actor, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., run_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cancelled_by: _Optional[_Union[_common_pb2.Actor, _Mapping]] = ..., cancel_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., package_id: _Optional[str] = ...) -> None: ...

class ScheduledDeactivation(_message.Message):
    __slots__ = ("reason", "note", "expected_return_time", "successor_identity_id")
    REASON_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_RETURN_TIME_FIELD_NUMBER: _ClassVar[int]
    SUCCESSOR_IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    reason: DeactivationReason
    note: str
    expected_return_time: _timestamp_pb2.Timestamp
    successor_identity_id: str
    def __init__(self, reason: _Optional[_Union[DeactivationReason, str]] = ..., note: _Optional[str] = ..., expected_return_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., successor_identity_id: _Optional[str] = ...) -> None: ...

class ScheduledRemoval(_message.Message):
    __slots__ = ("successor_identity_id",)
    SUCCESSOR_IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    successor_identity_id: str
    def __init__(self, successor_identity_id: _Optional[str] = ...) -> None: ...

class ScheduledOffboarding(_message.Message):
    __slots__ = ("package_id", "action", "successor_identity_id", "transfer_assignments_to")
    PACKAGE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    SUCCESSOR_IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_ASSIGNMENTS_TO_FIELD_NUMBER: _ClassVar[int]
    package_id: str
    action: OffboardingAction
    successor_identity_id: str
    transfer_assignments_to: str
    def __init__(self, package_id: _Optional[str] = ..., action: _Optional[_Union[OffboardingAction, str]] = ..., successor_identity_id: _Optional[str] = ..., transfer_assignments_to: _Optional[str] = ...) -> None: ...

class ScheduleMemberChangeRequest(_message.Message):
    __slots__ = ("scheduled_change", "request_id")
    SCHEDULED_CHANGE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    scheduled_change: ScheduledChange
    request_id: str
    def __init__(self, scheduled_change: _Optional[_Union[ScheduledChange, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ListScheduledChangesRequest(_message.Message):
    __slots__ = ("organization_id", "package_id", "state", "page_size", "page_token")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    package_id: str
    state: ScheduledChangeState
    page_size: int
    page_token: str
    def __init__(self, organization_id: _Optional[str] = ..., package_id: _Optional[str] = ..., state: _Optional[_Union[ScheduledChangeState, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListScheduledChangesResponse(_message.Message):
    __slots__ = ("scheduled_changes", "next_page_token")
    SCHEDULED_CHANGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    scheduled_changes: _containers.RepeatedCompositeFieldContainer[ScheduledChange]
    next_page_token: str
    def __init__(self, scheduled_changes: _Optional[_Iterable[_Union[ScheduledChange, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelScheduledChangeRequest(_message.Message):
    __slots__ = ("scheduled_change_id", "request_id")
    SCHEDULED_CHANGE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    scheduled_change_id: str
    request_id: str
    def __init__(self, scheduled_change_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ScimToken(_message.Message):
    __slots__ = ("scim_token_id", "organization_id", "include_sub_organizations", "description", "created_by", "create_time", "revoke_time")
    SCIM_TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_SUB_ORGANIZATIONS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    scim_token_id: str
    organization_id: str
    include_sub_organizations: bool
    description: str
    created_by: str
    create_time: _timestamp_pb2.Timestamp
    revoke_time: _timestamp_pb2.Timestamp
    def __init__(self, scim_token_id: _Optional[str] = ..., organization_id: _Optional[str] = ..., include_sub_organizations: _Optional[bool] = ..., description: _Optional[str] = ..., created_by: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoke_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateScimTokenRequest(_message.Message):
    __slots__ = ("organization_id", "include_sub_organizations", "description")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_SUB_ORGANIZATIONS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    include_sub_organizations: bool
    description: str
    def __init__(self, organization_id: _Optional[str] = ..., include_sub_organizations: _Optional[bool] = ..., description: _Optional[str] = ...) -> None: ...

class CreateScimTokenResponse(_message.Message):
    __slots__ = ("scim_token", "token")
    SCIM_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    scim_token: ScimToken
    token: str
    def __init__(self, scim_token: _Optional[_Union[ScimToken, _Mapping]] = ..., token: _Optional[str] = ...) -> None: ...

class ListScimTokensRequest(_message.Message):
    __slots__ = ("organization_id",)
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    def __init__(self, organization_id: _Optional[str] = ...) -> None: ...

class ListScimTokensResponse(_message.Message):
    __slots__ = ("scim_tokens",)
    SCIM_TOKENS_FIELD_NUMBER: _ClassVar[int]
    scim_tokens: _containers.RepeatedCompositeFieldContainer[ScimToken]
    def __init__(self, scim_tokens: _Optional[_Iterable[_Union[ScimToken, _Mapping]]] = ...) -> None: ...

class RevokeScimTokenRequest(_message.Message):
    __slots__ = ("organization_id", "scim_token_id", "request_id")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    SCIM_TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    scim_token_id: str
    request_id: str
    def __init__(self, organization_id: _Optional[str] = ..., scim_token_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...
