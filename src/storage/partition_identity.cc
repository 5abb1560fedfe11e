// Partition identity files and set-aside directory names (see partition_identity.h).
#include "storage/partition_identity.h"

#include <charconv>

#include "common/flash_accounting.h"
#include "common/uuid.h"
#include "platform/file.h"

namespace ferry::storage {
namespace {

constexpr const char* kDeleteSuffix = "-delete";
constexpr const char* kStraySuffix = "-stray";

}  // namespace

std::string new_topic_id() { return new_uuid(); }

bool valid_topic_id(const std::string& id) { return valid_uuid(id); }

std::string encode_partition_identity(const PartitionIdentity& id) {
  return "version: " + std::to_string(kPartitionIdentityVersion) + "\ntopic_id: " + id.topic_id +
         "\ntopic: " + id.topic + "\npartition: " + std::to_string(id.partition.value()) + "\n";
}

Result<PartitionIdentity> parse_partition_identity(const std::string& text) {
  PartitionIdentity out;
  bool have_version = false, have_id = false, have_topic = false, have_partition = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) return Error(Errc::corrupt, "last line has no newline");
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    size_t colon = line.find(": ");
    if (colon == std::string::npos) return Error(Errc::corrupt, "line without ': ': " + line);
    std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 2);
    if (key == "version") {
      if (value != std::to_string(kPartitionIdentityVersion))
        return Error(Errc::unsupported, "identity version " + value + " is not known");
      have_version = true;
    } else if (key == "topic_id") {
      if (!valid_topic_id(value)) return Error(Errc::corrupt, "bad topic_id " + value);
      out.topic_id = value;
      have_id = true;
    } else if (key == "topic") {
      if (value.empty()) return Error(Errc::corrupt, "empty topic");
      out.topic = value;
      have_topic = true;
    } else if (key == "partition") {
      int32_t p = -1;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), p);
      if (ec != std::errc() || ptr != value.data() + value.size() || p < 0)
        return Error(Errc::corrupt, "bad partition " + value);
      out.partition = PartitionId(p);
      have_partition = true;
    }
  }
  if (!have_version || !have_id || !have_topic || !have_partition)
    return Error(Errc::corrupt, "version, topic_id, topic or partition missing");
  return out;
}

Result<std::optional<PartitionIdentity>> read_partition_identity(const std::string& dir,
                                                                 platform::FileSystem& fs) {
  const std::string path = dir + "/" + kPartitionIdentityFile;
  if (!fs.exists(path)) return std::optional<PartitionIdentity>();
  auto f = fs.open(path, platform::File::Mode::read_only);
  if (!f) return std::move(f).error();
  auto size = f->size();
  if (!size) return std::move(size).error();
  if (*size > 4096) return Error(Errc::corrupt, path + ": larger than an identity file can be");
  std::string text(static_cast<size_t>(*size), '\0');
  FERRY_TRY(f->pread_exact({reinterpret_cast<std::byte*>(text.data()), text.size()}, 0));
  auto parsed = parse_partition_identity(text);
  if (!parsed) return Error(parsed.error().code(), path + ": " + parsed.error().message());
  return std::optional<PartitionIdentity>(std::move(parsed).value());
}

Status write_partition_identity(const std::string& dir, const PartitionIdentity& id,
                                platform::FileSystem& fs) {
  const std::string text = encode_partition_identity(id);
  FERRY_TRY(fs.write_file_atomic(dir + "/" + kPartitionIdentityFile, platform::as_bytes(text)));
  flash::count_written(flash::WriteKind::checkpoint, text.size());
  return {};
}

std::string set_aside_dir_name(const std::string& partition_dir, const std::string& topic_id,
                               SetAside kind) {
  return partition_dir + "." + topic_id +
         (kind == SetAside::deleted ? kDeleteSuffix : kStraySuffix);
}

std::optional<SetAside> parse_set_aside_dir_name(const std::string& name) {
  // A topic name may end in "-delete" itself, but a partition directory never does: it ends in
  // "-<digits>". The '.' before the id is checked too.
  auto has = [&](const char* suffix) {
    const std::string s(suffix);
    return name.size() > s.size() + 24 && name.ends_with(s) &&
           name[name.size() - s.size() - 23] == '.';
  };
  if (has(kDeleteSuffix)) return SetAside::deleted;
  if (has(kStraySuffix)) return SetAside::stray;
  return std::nullopt;
}

}  // namespace ferry::storage
