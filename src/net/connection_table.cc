// ConnectionTable (see connection_table.h).
#include "net/connection_table.h"

#include "net/connection.h"

namespace ferry::net {

void ConnectionTable::add(const std::shared_ptr<Connection>& c, const std::string& host) {
  conns_.emplace(c->id(), c);
  ++per_ip_[host];
}

bool ConnectionTable::remove(uint64_t id, const std::string& host) {
  if (conns_.erase(id) == 0) return false;
  auto it = per_ip_.find(host);
  if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
  return true;
}

size_t ConnectionTable::count_for(const std::string& host) const {
  auto it = per_ip_.find(host);
  return it == per_ip_.end() ? 0 : it->second;
}

}  // namespace ferry::net
