"""Stream one AI-agent session as a Trio receive channel."""

from contextlib import suppress as _suppress

from ._adapter_result import AdapterResult as AdapterResult
from ._errors import ErrorCategory as ErrorCategory
from ._errors import ErrorCode as ErrorCode
from ._errors import SessionError as SessionError
from ._events import Event as Event
from ._events import EventType as EventType
from ._lifecycle import RunResult as RunResult
from ._manager import cancel_run as cancel_run
from ._manager import run_once as run_once
from ._models import Capability as Capability
from ._models import CapabilityType as CapabilityType
from ._models import Negotiation as Negotiation
from ._models import Run as Run
from ._models import RunStatus as RunStatus
from ._models import Session as Session
from ._models import SessionStatus as SessionStatus
from ._models import negotiate_capabilities as negotiate_capabilities
from ._open import open_stream_session as open_stream_session
from ._open import start_stream_session as start_stream_session
from ._options import RunOptions as RunOptions
from ._options import SessionOptions as SessionOptions
from ._ports import Emit as Emit
from ._ports import EventAppender as EventAppender
from ._ports import ProviderAdapter as ProviderAdapter
from ._ports import SessionStore as SessionStore
from ._provider_error import normalize_provider_error as normalize_provider_error
from ._recovery import find_interrupted_runs as find_interrupted_runs
from ._recovery import recover_interrupted_runs as recover_interrupted_runs
from ._redact import redact_text as redact_text
from ._redact import redact_value as redact_value
from ._replay import ReplayStream as ReplayStream
from ._replay import replay_session as replay_session
from ._session import StreamSession as StreamSession
from ._session import StreamStatistics as StreamStatistics
from ._supervisor import SessionSupervisor as SessionSupervisor
from ._supervisor import SupervisorStatistics as SupervisorStatistics
from ._supervisor import open_session_supervisor as open_session_supervisor
from ._transcript import Transcript as Transcript
from ._transcript import TranscriptMessage as TranscriptMessage
from .stores import InMemorySessionStore as InMemorySessionStore
from .stores import PostgresSessionStore as PostgresSessionStore
from .stores import SQLiteSessionStore as SQLiteSessionStore

__version__ = "0.1.0.dev0"

__all__ = [
    "AdapterResult",
    "Capability",
    "CapabilityType",
    "Emit",
    "ErrorCategory",
    "ErrorCode",
    "Event",
    "EventAppender",
    "EventType",
    "InMemorySessionStore",
    "Negotiation",
    "PostgresSessionStore",
    "ProviderAdapter",
    "ReplayStream",
    "Run",
    "RunOptions",
    "RunResult",
    "RunStatus",
    "SQLiteSessionStore",
    "Session",
    "SessionError",
    "SessionOptions",
    "SessionStatus",
    "SessionStore",
    "SessionSupervisor",
    "StreamSession",
    "StreamStatistics",
    "SupervisorStatistics",
    "Transcript",
    "TranscriptMessage",
    "cancel_run",
    "find_interrupted_runs",
    "negotiate_capabilities",
    "normalize_provider_error",
    "open_session_supervisor",
    "open_stream_session",
    "recover_interrupted_runs",
    "redact_text",
    "redact_value",
    "replay_session",
    "run_once",
    "start_stream_session",
]

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("trio_stream_session."):
        with _suppress(AttributeError, TypeError):
            _obj.__module__ = "trio_stream_session"
del _name, _obj, _suppress
