//! The Lua scripts of distributed mode. Each runs atomically at the broker,
//! so "is this job still mine?" and what depends on the answer (acknowledge
//! it, publish its events, renew its lease, take it over) cannot be split
//! by another worker's takeover.
//!
//! `XPENDING key group id id 1` gives the entry's owner; a job's owner is
//! the consumer (a remote worker's number) that holds it.

use std::sync::LazyLock;

use redis::Script;

/// KEYS: jobs, events. ARGV: group, consumer, entry id, worker number,
/// lines. If the entry is still this consumer's: acknowledge and delete it,
/// publish the lines (the job's `finished` or `failed` among them), and
/// return 1. Otherwise (taken over meanwhile) publish nothing and return 0:
/// the job's result is the other worker's to report.
pub(crate) static FINISH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
if ARGV[5] ~= '' then redis.call('XADD', KEYS[2], '*', 'w', ARGV[4], 'lines', ARGV[5]) end
return 1
",
    )
});

/// KEYS: jobs, events. ARGV: group, consumer, entry id, worker number,
/// lines. Publishes the lines (a long job's `started`) only if the entry is
/// still this consumer's; returns 1 if it did.
pub(crate) static PUBLISH_IF_MINE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end
redis.call('XADD', KEYS[2], '*', 'w', ARGV[4], 'lines', ARGV[5])
return 1
",
    )
});

/// KEYS: jobs. ARGV: group, consumer, entry id. Renews the lease on a job
/// still running here (resets the entry's idle time); returns 0 if it has
/// been taken over.
pub(crate) static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return 1
",
    )
});

/// KEYS: jobs. ARGV: group, consumer, lease in ms. Takes over the oldest
/// entry whose holder has not renewed it for a lease (`XAUTOCLAIM`), and
/// returns `{id, previous holder, fields}`, or nil if there is none.
pub(crate) static RECLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local p = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[3], '-', '+', 1)
if #p == 0 then return false end
local id, holder = p[1][1], p[1][2]
local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], id, 'COUNT', 1)
local e = r[2][1]
if not e or e[1] ~= id then return false end
return {e[1], holder, e[2]}
",
    )
});

/// KEYS: jobs, config. ARGV: group, consumer, entry id, worker number. A
/// worker stopped by a signal mid-job hands the job back at once, not after
/// its lease: if the entry is still this consumer's, acknowledge and delete
/// it and add its job again as a new entry marked `from` this worker (whoever
/// takes it logs the job as reclaimed from it), counting the re-added entry
/// in the config's `readded` (a resumed coordinator counts the jobs added
/// as entries added less those). Returns 1, or 0 if it was not this
/// consumer's any more.
pub(crate) static HANDBACK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end
local e = redis.call('XRANGE', KEYS[1], ARGV[3], ARGV[3])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
local f = e[1] and e[1][2] or {}
for i = 1, #f, 2 do
  if f[i] == 'j' then
    redis.call('XADD', KEYS[1], '*', 'j', f[i + 1], 'from', ARGV[4])
    redis.call('HINCRBY', KEYS[2], 'readded', 1)
    return 1
  end
end
return 0
",
    )
});
