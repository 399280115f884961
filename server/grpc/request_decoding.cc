#include "server/grpc/request_decoding.h"

#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include <map>
#include <vector>

#include "absl/strings/str_cat.h"

namespace steward::server {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

std::string Join(const std::string& path, absl::string_view name) {
  return path.empty() ? std::string(name) : absl::StrCat(path, ".", name);
}

// Walks `wire` as a message of `type` without trusting it to be valid
// UTF-8 (UnknownFieldSet keeps every length-delimited field as raw bytes).
// Returns true and sets `found` at the first string that is not UTF-8.
bool Walk(const Descriptor& type, absl::string_view wire,
          const std::string& path, int depth, std::string* found);

// A field's value: a string to check or a message to walk.
bool CheckValue(const FieldDescriptor& field, const std::string& bytes,
                const std::string& path, int depth, std::string* found) {
  if (field.type() == FieldDescriptor::TYPE_STRING) {
    if (IsValidUtf8(bytes)) return false;
    *found = path;
    return true;
  }
  if (field.type() == FieldDescriptor::TYPE_MESSAGE) {
    return Walk(*field.message_type(), bytes, path, depth + 1, found);
  }
  return false;
}

bool WalkMapEntry(const FieldDescriptor& map, const std::string& bytes,
                  const std::string& path, int depth, std::string* found) {
  UnknownFieldSet entry;
  if (!entry.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return false;
  }
  const Descriptor& entry_type = *map.message_type();
  std::string key;
  for (int i = 0; i < entry.field_count(); ++i) {
    const UnknownField& f = entry.field(i);
    if (f.number() == 1 && f.type() == UnknownField::TYPE_LENGTH_DELIMITED) {
      key = f.length_delimited();
    }
  }
  if (entry_type.map_key()->type() == FieldDescriptor::TYPE_STRING &&
      !IsValidUtf8(key)) {
    *found = absl::StrCat(Join(path, map.name()), " (a key)");
    return true;
  }
  const std::string value_path =
      absl::StrCat(Join(path, map.name()), "[", key, "]");
  for (int i = 0; i < entry.field_count(); ++i) {
    const UnknownField& f = entry.field(i);
    if (f.number() == 2 && f.type() == UnknownField::TYPE_LENGTH_DELIMITED &&
        CheckValue(*entry_type.map_value(), f.length_delimited(), value_path,
                   depth, found)) {
      return true;
    }
  }
  return false;
}

bool Walk(const Descriptor& type, absl::string_view wire,
          const std::string& path, int depth, std::string* found) {
  // Deeper than any request we accept; the parse would fail on it anyway.
  if (depth > 32) return false;
  UnknownFieldSet fields;
  if (!fields.ParseFromArray(wire.data(), static_cast<int>(wire.size()))) {
    return false;
  }
  // Inside google.protobuf.Value and friends the path stays at the
  // attribute: "resource.attributes[owner]" is what a caller can act on.
  const bool well_known = type.file()->package() == "google.protobuf";
  std::map<int, int> occurrences;
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& f = fields.field(i);
    if (f.type() != UnknownField::TYPE_LENGTH_DELIMITED) continue;
    const FieldDescriptor* field = type.FindFieldByNumber(f.number());
    if (field == nullptr) continue;
    const int index = occurrences[f.number()]++;
    if (field->is_map()) {
      if (WalkMapEntry(*field, f.length_delimited(), path, depth, found)) {
        return true;
      }
      continue;
    }
    std::string field_path = path;
    if (!well_known) {
      field_path =
          field->is_repeated()
              ? absl::StrCat(Join(path, field->name()), "[", index, "]")
              : Join(path, field->name());
    }
    if (CheckValue(*field, f.length_delimited(), field_path, depth, found)) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int extra;
    uint32_t code;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      code = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      code = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;  // continuation byte, overlong lead, or beyond U+10FFFF
    }
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      code = (code << 6) | (p[i] & 0x3F);
    }
    if ((extra == 2 && code < 0x800) || (extra == 3 && code < 0x10000) ||
        (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) {
      return false;
    }
    p += extra + 1;
  }
  return true;
}

std::string FindInvalidUtf8Field(const Descriptor& type,
                                 absl::string_view wire) {
  std::string found;
  Walk(type, wire, "", 0, &found);
  return found;
}

absl::Status DecodeRequest(const grpc::ByteBuffer& bytes,
                           google::protobuf::Message* message) {
  // GenericDeserialize consumes its buffer; copying only takes references.
  grpc::ByteBuffer copy(bytes);
  grpc::Status parsed =
      grpc::GenericDeserialize<grpc::ProtoBufferReader,
                               google::protobuf::Message>(&copy, message);
  if (parsed.ok()) return absl::OkStatus();
  std::vector<grpc::Slice> slices;
  std::string wire;
  if (bytes.Dump(&slices).ok()) {
    for (const grpc::Slice& slice : slices) {
      wire.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
  }
  std::string field = FindInvalidUtf8Field(*message->GetDescriptor(), wire);
  if (!field.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not valid UTF-8"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("request: not a valid ",
                   message->GetDescriptor()->full_name(), " message"));
}

absl::Status EncodeResponse(const google::protobuf::Message& message,
                            grpc::ByteBuffer* bytes) {
  bool own_buffer = false;
  grpc::Status status = grpc::GenericSerialize<grpc::ProtoBufferWriter,
                                               google::protobuf::Message>(
      message, bytes, &own_buffer);
  if (status.ok()) return absl::OkStatus();
  return absl::InternalError("could not encode the response");
}

}  // namespace steward::server
