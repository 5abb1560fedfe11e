// A writer of the Prometheus text exposition format 0.0.4: families (# HELP and # TYPE lines
// once each), samples with escaped label values, and histograms with cumulative buckets, _sum
// and _count. Metrics are gathered fresh on every scrape from the counters the broker keeps;
// nothing is registered up front, so the writer is the whole registry.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/histogram.h"

namespace ferry::admin {

using Label = std::pair<std::string_view, std::string_view>;

// A label value as the format wants it inside double quotes: backslash, double quote and line
// feed escaped.
std::string escape_label_value(std::string_view v);
// HELP text: backslash and line feed escaped.
std::string escape_help(std::string_view v);

class MetricsText {
 public:
  // Content-Type of the result.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  // Starts the family `name`: type is counter, gauge or histogram.
  void family(std::string_view name, std::string_view type, std::string_view help);

  template <typename T>
  void sample(std::string_view name, std::initializer_list<Label> labels, T value) {
    if constexpr (std::is_floating_point_v<T>) {
      write_sample(name, labels.begin(), labels.size(), {},
                   format_double(static_cast<double>(value)));
    } else if constexpr (std::is_signed_v<T>) {
      write_sample(name, labels.begin(), labels.size(), {},
                   std::to_string(static_cast<long long>(value)));
    } else {
      write_sample(name, labels.begin(), labels.size(), {},
                   std::to_string(static_cast<unsigned long long>(value)));
    }
  }
  // `name`_bucket (with le), `name`_sum and `name`_count.
  void histogram(std::string_view name, std::initializer_list<Label> labels, const Histogram& h);

  const std::string& text() const noexcept { return out_; }
  std::string take() { return std::move(out_); }

  static std::string format_double(double v);

 private:
  void write_sample(std::string_view name, const Label* labels, size_t n, Label extra,
                    const std::string& value);
  std::string out_;
};

}  // namespace ferry::admin
