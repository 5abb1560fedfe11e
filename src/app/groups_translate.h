// `ferry groups --translate`: a gateway group's committed offsets, translated with a mirror's
// offset map (mirror/offset_map.h), committed to a group on the mirror's central cluster, so
// central consumers continue where the gateway's consumers stopped (MirrorMaker 2's
// checkpoints do the same).
//
//   ferry groups --translate --group G --mirror NAME --config FERRY_TOML [--data-dir DIR]
//                [--bootstrap GATEWAY] [--to-bootstrap HOST:PORT] [--target-group G2]
//                [--execute] [--json]
//
// The committed offsets are asked of the gateway (--bootstrap, with the usual security
// options); the offset map is read from meta.db in the config's data.dir (or --data-dir),
// read-only; the central cluster is the mirror section's bootstrap.servers (or --to-bootstrap) with
// that section's TLS and SASL settings; topics are named there by the section's target.topic. Only
// partitions of topics the mirror forwards are translated. The central group must have no active
// members. Without --execute nothing is committed (a dry run, like --reset-offsets).
//
// Runs on the command's main thread (synchronous sessions, app/cli_session.h).
#pragma once

#include "app/groups_cmd.h"

namespace ferry::app {

// Runs the translation; returns the exit code: 0 every committed offset of a forwarded topic
// translated (those past the forwarded position are moved back to it and reported), 1 a Kafka
// or meta.db error, an occupied central group, or partitions left out (no map, below the map;
// the others are still committed), 2 usage.
int translate_group(const GroupsArgs& args);

}  // namespace ferry::app
