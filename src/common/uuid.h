// Kafka-style ids: a random (version 4) UUID written as Kafka prints its Uuid type, 22
// characters of unpadded base64url. Used for the cluster id and topic ids.
#pragma once

#include <string>
#include <string_view>

namespace ferry {

// A new random id (16 bytes from std::random_device, version 4 / RFC 4122 variant bits set).
std::string new_uuid();

// True when `id` has the shape new_uuid() gives: 22 characters of the base64url alphabet.
bool valid_uuid(std::string_view id);

}  // namespace ferry
