//! [`say`]: the one way the driver writes a message to standard error,
//! apart from the log on standard output.

use std::io::{self, Write as _};

/// Writes one line to stderr: the one place the driver prints a message. A
/// stderr that cannot be written (`2>/dev/full`, closed) loses the line, not
/// the exit status.
pub fn say(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}
