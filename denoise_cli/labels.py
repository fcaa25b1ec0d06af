"""Speech segments as label files: an Audacity label track and WebVTT cues.

Both take the segments of a per-file report (``report["segments"]``) and use
the times of the output file: with --speech-only those are the positions in
the shortened output, else the input times (the same in the output).
"""

from __future__ import annotations

LABEL_SUFFIX = {"audacity": ".labels.txt", "vtt": ".vtt"}
SPEECH_LABEL = "speech"


def _times(segment: dict) -> tuple[float, float]:
    if "output_start_s" in segment:
        return segment["output_start_s"], segment["output_end_s"]
    return segment["start_s"], segment["end_s"]


def audacity_labels(segments: list[dict]) -> str:
    """Audacity's label-track text: ``start<TAB>end<TAB>label`` per line, seconds."""
    return "".join(f"{s:.6f}\t{e:.6f}\t{SPEECH_LABEL} {i}\n"
                   for i, (s, e) in enumerate(map(_times, segments), start=1))


def vtt_timestamp(seconds: float) -> str:
    """WebVTT's ``HH:MM:SS.mmm``."""
    ms = int(round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"


def webvtt(segments: list[dict]) -> str:
    """A WebVTT file with one cue per speech segment."""
    cues = [f"{i}\n{vtt_timestamp(s)} --> {vtt_timestamp(e)}\n{SPEECH_LABEL} {i}\n"
            for i, (s, e) in enumerate(map(_times, segments), start=1)]
    return "WEBVTT\n\n" + "\n".join(cues)


RENDERERS = {"audacity": audacity_labels, "vtt": webvtt}
