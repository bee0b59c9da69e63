import datetime

from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Plan(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLAN_UNSPECIFIED: _ClassVar[Plan]
    PLAN_BASIC: _ClassVar[Plan]
    PLAN_BUSINESS: _ClassVar[Plan]
    PLAN_ENTERPRISE: _ClassVar[Plan]

class AttachMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ATTACH_METHOD_UNSPECIFIED: _ClassVar[AttachMethod]
    ATTACH_METHOD_SIGN_IN: _ClassVar[AttachMethod]
    ATTACH_METHOD_MEMBERSHIP: _ClassVar[AttachMethod]
PLAN_UNSPECIFIED: Plan
PLAN_BASIC: Plan
PLAN_BUSINESS: Plan
PLAN_ENTERPRISE: Plan
ATTACH_METHOD_UNSPECIFIED: AttachMethod
ATTACH_METHOD_SIGN_IN: AttachMethod
ATTACH_METHOD_MEMBERSHIP: AttachMethod

class LicensePackage(_message.Message):
    __slots__ = ("package_id", "display_name", "plan", "seat_limit", "admin_identity_ids", "create_time", "update_time")
    PACKAGE_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    SEAT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    ADMIN_IDENTITY_IDS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    package_id: str
    display_name: str
    plan: Plan
    seat_limit: int
    admin_identity_ids: _containers.RepeatedScalarFieldContainer[str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, package_id: _Optional[str] = ..., display_name: _Optional[str] = ..., plan: _Optional[_Union[Plan, str]] = ..., seat_limit: _Optional[int] = ..., admin_identity_ids: _Optional[_Iterable[str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateLicensePackageRequest(_message.Message):
    __slots__ = ("license_package", "request_id")
    LICENSE_PACKAGE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    license_package: LicensePackage
    request_id: str
    def __init__(self, license_package: _Optional[_Union[LicensePackage, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetLicensePackageRequest(_message.Message):
    __slots__ = ("package_id",)
    PACKAGE_ID_FIELD_NUMBER: _ClassVar[int]
    package_id: str
    def __init__(self, package_id: _Optional[str] = ...) -> None: ...

class UpdateLicensePackageRequest(_message.Message):
    __slots__ = ("license_package", "update_mask", "request_id")
    LICENSE_PACKAGE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    license_package: LicensePackage
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    def __init__(self, license_package: _Optional[_Union[LicensePackage, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class Credential(_message.Message):
    __slots__ = ("credential_id", "package_id", "username", "create_time")
    CREDENTIAL_ID_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    credential_id: str
    package_id: str
    username: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, credential_id: _Optional[str] = ..., package_id: _Optional[str] = ..., username: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class IssueCredentialRequest(_message.Message):
    __slots__ = ("package_id", "username", "password")
    PACKAGE_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    package_id: str
    username: str
    password: str
    def __init__(self, package_id: _Optional[str] = ..., username: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class IssueCredentialResponse(_message.Message):
    __slots__ = ("credential", "password")
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    credential: Credential
    password: str
    def __init__(self, credential: _Optional[_Union[Credential, _Mapping]] = ..., password: _Optional[str] = ...) -> None: ...

class ListCredentialsRequest(_message.Message):
    __slots__ = ("package_id", "page_size", "page_token")
    PACKAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    package_id: str
    page_size: int
    page_token: str
    def __init__(self, package_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCredentialsResponse(_message.Message):
    __slots__ = ("credentials", "next_page_token")
    CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    credentials: _containers.RepeatedCompositeFieldContainer[Credential]
    next_page_token: str
    def __init__(self, credentials: _Optional[_Iterable[_Union[Credential, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteCredentialRequest(_message.Message):
    __slots__ = ("credential_id", "request_id")
    CREDENTIAL_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    credential_id: str
    request_id: str
    def __init__(self, credential_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ActiveUser(_message.Message):
    __slots__ = ("identity_id", "package_id", "attach_time", "attach_method", "signed_in", "credential_id", "last_seen_time")
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_ID_FIELD_NUMBER: _ClassVar[int]
    ATTACH_TIME_FIELD_NUMBER: _ClassVar[int]
    ATTACH_METHOD_FIELD_NUMBER: _ClassVar[int]
    SIGNED_IN_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    identity_id: str
    package_id: str
    attach_time: _timestamp_pb2.Timestamp
    attach_method: AttachMethod
    signed_in: bool
    credential_id: str
    last_seen_time: _timestamp_pb2.Timestamp
    def __init__(self, identity_id: _Optional[str] = ..., package_id: _Optional[str] = ..., attach_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attach_method: _Optional[_Union[AttachMethod, str]] = ..., signed_in: _Optional[bool] = ..., credential_id: _Optional[str] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListActiveUsersRequest(_message.Message):
    __slots__ = ("package_id", "page_size", "page_token")
    PACKAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    package_id: str
    page_size: int
    page_token: str
    def __init__(self, package_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListActiveUsersResponse(_message.Message):
    __slots__ = ("active_users", "next_page_token")
    ACTIVE_USERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    active_users: _containers.RepeatedCompositeFieldContainer[ActiveUser]
    next_page_token: str
    def __init__(self, active_users: _Optional[_Iterable[_Union[ActiveUser, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DetachIdentityRequest(_message.Message):
    __slots__ = ("package_id", "identity_id", "request_id")
    PACKAGE_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    package_id: str
    identity_id: str
    request_id: str
    def __init__(self, package_id: _Optional[str] = ..., identity_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CheckInternalContactsRequest(_message.Message):
    __slots__ = ("pairs",)
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    pairs: _containers.RepeatedCompositeFieldContainer[IdentityPair]
    def __init__(self, pairs: _Optional[_Iterable[_Union[IdentityPair, _Mapping]]] = ...) -> None: ...

class IdentityPair(_message.Message):
    __slots__ = ("first_identity_id", "second_identity_id")
    FIRST_IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    SECOND_IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    first_identity_id: str
    second_identity_id: str
    def __init__(self, first_identity_id: _Optional[str] = ..., second_identity_id: _Optional[str] = ...) -> None: ...

class CheckInternalContactsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[InternalContactResult]
    def __init__(self, results: _Optional[_Iterable[_Union[InternalContactResult, _Mapping]]] = ...) -> None: ...

class InternalContactResult(_message.Message):
    __slots__ = ("pair", "internal")
    PAIR_FIELD_NUMBER: _ClassVar[int]
    INTERNAL_FIELD_NUMBER: _ClassVar[int]
    pair: IdentityPair
    internal: bool
    def __init__(self, pair: _Optional[_Union[IdentityPair, _Mapping]] = ..., internal: _Optional[bool] = ...) -> None: ...

class GetSeatUsageRequest(_message.Message):
    __slots__ = ("package_id",)
    PACKAGE_ID_FIELD_NUMBER: _ClassVar[int]
    package_id: str
    def __init__(self, package_id: _Optional[str] = ...) -> None: ...

class SeatUsage(_message.Message):
    __slots__ = ("package_id", "seat_limit", "used", "free")
    PACKAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SEAT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    FREE_FIELD_NUMBER: _ClassVar[int]
    package_id: str
    seat_limit: int
    used: int
    free: int
    def __init__(self, package_id: _Optional[str] = ..., seat_limit: _Optional[int] = ..., used: _Optional[int] = ..., free: _Optional[int] = ...) -> None: ...
