"""Type stubs of the inkseal._native extension module."""

from typing import Any, Optional, Tuple

ALGORITHM: str
DEFAULT_TARGET_QUALITY: Optional[float]

class InksealError(Exception): ...
class ImageError(InksealError): ...
class ImageTooSmallError(ImageError): ...
class KeyFileError(InksealError): ...
class RegistryError(InksealError): ...
class CredentialsError(InksealError): ...

class Key:
    @staticmethod
    def public() -> Key: ...
    @staticmethod
    def generate() -> Key: ...
    @staticmethod
    def from_text(text: str) -> Key: ...
    @staticmethod
    def load(path: str) -> Key: ...
    def save(self, path: str, overwrite: bool = False) -> None: ...
    def to_text(self) -> str: ...
    @property
    def id(self) -> str: ...

class Detection:
    @property
    def detected(self) -> bool: ...
    @property
    def work_id(self) -> Optional[str]: ...
    @property
    def p_value(self) -> float: ...
    @property
    def rotation_deg(self) -> Optional[float]: ...
    @property
    def scale(self) -> Optional[float]: ...
    @property
    def aspect(self) -> Optional[float]: ...
    @property
    def mirrored(self) -> Optional[bool]: ...
    @property
    def region(self) -> Optional[Tuple[int, int, int, int]]:
        """The marked area's bounding box (x, y, width, height) in image pixels, when detected."""
        ...

class EmbedReport:
    @property
    def work_id(self) -> str: ...
    @property
    def psnr_db(self) -> float: ...
    @property
    def ssimulacra2(self) -> Optional[float]: ...
    @property
    def target_quality(self) -> Optional[float]: ...
    @property
    def gain(self) -> float: ...
    @property
    def strength(self) -> float: ...
    @property
    def fragile(self) -> bool: ...

Columns = tuple[
    list[bool],
    list[Optional[str]],
    list[Optional[float]],
    list[Optional[str]],
    list[Optional[float]],
    list[Optional[float]],
    list[Optional[float]],
    list[Optional[bool]],
]

class BatchDetector:
    def __init__(self, key: Optional[Key] = None, threads: int = 0) -> None: ...
    @property
    def threads(self) -> int: ...
    @property
    def key_id(self) -> str: ...
    def detect(self, images: list[Optional[bytes]]) -> Columns: ...
    def detect_arrow(
        self,
        chunks: list[tuple[int, int, Optional[Any], Any, Optional[Any], bool]],
    ) -> Columns: ...
    def detect_one(self, data: bytes) -> Detection: ...

def embed_pixels(
    pixels: bytes,
    width: int,
    height: int,
    channels: int,
    work_id: Optional[str] = None,
    key: Optional[Key] = None,
    strength: float = 1.0,
    target_quality: Optional[float] = ...,
) -> tuple[bytes, EmbedReport]: ...
def embed_bytes(
    data: bytes,
    work_id: Optional[str] = None,
    key: Optional[Key] = None,
    strength: float = 1.0,
    target_quality: Optional[float] = ...,
) -> tuple[bytes, EmbedReport]: ...
def detect_pixels(
    pixels: bytes, width: int, height: int, channels: int, key: Optional[Key] = None
) -> Detection: ...
def mark_file(
    input: str,
    output: str,
    title: str,
    artist: str,
    license: Optional[str] = None,
    allow_training: bool = False,
    key: Optional[Key] = None,
    registry: Optional[str] = None,
    credentials: Optional[str] = None,
    strength: float = 1.0,
    target_quality: Optional[float] = ...,
) -> dict: ...
def mark_bytes(
    data: bytes,
    output: str,
    title: str,
    artist: str,
    license: Optional[str] = None,
    allow_training: bool = False,
    key: Optional[Key] = None,
    registry: Optional[str] = None,
    credentials: Optional[str] = None,
    strength: float = 1.0,
    target_quality: Optional[float] = ...,
) -> dict: ...
def verify_file(
    path: str,
    key: Optional[Key] = None,
    registry: Optional[str] = None,
    credentials: Optional[str] = None,
    trust: Optional[str] = None,
) -> dict: ...
def verify_bytes(
    data: bytes,
    key: Optional[Key] = None,
    registry: Optional[str] = None,
    credentials: Optional[str] = None,
    trust: Optional[str] = None,
) -> dict: ...
def scan(
    paths: list[str],
    key: Optional[Key] = None,
    column: Optional[str] = None,
    with_columns: list[str] = ...,
    threads: int = 0,
) -> list[dict]: ...
