// The connections of every listener of one broker, for the limits that span listeners:
// max.connections (broker-wide: the oldest idle connection of any listener is evicted for a
// newcomer) and max.connections.per.ip (one count per address whichever listener it used).
// Each net::Server registers its connections here; Servers of one broker share one table.
//
// Threading: the loop thread that owns the Servers.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace ferry::net {

class Connection;

class ConnectionTable {
 public:
  uint64_t next_id() noexcept { return next_id_++; }
  void add(const std::shared_ptr<Connection>& c, const std::string& host);
  // Removes it (once); false when it was not registered.
  bool remove(uint64_t id, const std::string& host);

  size_t size() const noexcept { return conns_.size(); }
  size_t count_for(const std::string& host) const;
  // The live connections, by id (weak: each Server owns its own).
  const std::map<uint64_t, std::weak_ptr<Connection>>& connections() const noexcept {
    return conns_;
  }

 private:
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::weak_ptr<Connection>> conns_;
  std::map<std::string, size_t> per_ip_;
};

}  // namespace ferry::net
