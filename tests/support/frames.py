"""Frame records with exact event times for tests (they live in streams.synthetic_frames, which the soak
bench uses too)."""

from streams.synthetic_frames import expected_windows, jpeg_image, produce_frames

__all__ = ["expected_windows", "jpeg_image", "produce_frames"]
