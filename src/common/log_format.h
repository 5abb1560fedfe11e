// The log line format: plain lines with a timestamp, or journald's form under systemd.
//
// Format::plain (the default): "2026-01-02T03:04:05.678Z INFO  broker: text".
// Format::journal: "<6>broker: text" — no timestamp (the journal keeps its own) and the
// sd-daemon priority prefix (<3> error, <4> warn, <6> info, <7> debug and trace), so
// `journalctl -p err` selects by level. main() picks it with detect_format() at start-up.
//
// Thread-safe (an atomic); set it before other threads log.
#pragma once

#include <cstdint>

namespace ferry::log {

enum class Format { plain, journal };

void set_format(Format format) noexcept;
Format format() noexcept;
// Format::journal when JOURNAL_STREAM ("DEVICE:INODE", set by systemd for services whose stderr
// goes to the journal) names the file stderr is open on, else Format::plain. A stderr the
// service redirected elsewhere keeps plain lines.
Format detect_format() noexcept;
// The rule behind detect_format(), on given values: `journal_stream` is the variable's text (or
// nullptr), `dev`/`ino` those of stderr.
bool is_journal_stream(const char* journal_stream, uint64_t dev, uint64_t ino) noexcept;

}  // namespace ferry::log
