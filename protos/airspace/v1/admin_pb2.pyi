import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PruneRunsRequest(_message.Message):
    __slots__ = ("finished_before", "validate_only", "page_size")
    FINISHED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    finished_before: _timestamp_pb2.Timestamp
    validate_only: bool
    page_size: int
    def __init__(self, finished_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., validate_only: _Optional[bool] = ..., page_size: _Optional[int] = ...) -> None: ...

class PruneRunsResponse(_message.Message):
    __slots__ = ("pruned_runs", "deleted_events", "deleted_journal_entries", "more")
    PRUNED_RUNS_FIELD_NUMBER: _ClassVar[int]
    DELETED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    DELETED_JOURNAL_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    pruned_runs: int
    deleted_events: int
    deleted_journal_entries: int
    more: bool
    def __init__(self, pruned_runs: _Optional[int] = ..., deleted_events: _Optional[int] = ..., deleted_journal_entries: _Optional[int] = ..., more: _Optional[bool] = ...) -> None: ...
