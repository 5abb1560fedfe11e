// /v1/status names the recent WARN/ERROR lines, and the status page carries the hooks its
// browser test and its script rely on.
#include <gtest/gtest.h>

#include <string>

#include "admin/admin_service.h"
#include "admin/admin_view.h"
#include "common/log.h"
#include "common/log_recent.h"

namespace ferry::admin {
namespace {

void discard(log::Level, std::string_view, void*) {}

TEST(StatusJson, RecentErrorsAreListedOldestFirst) {
  log::set_sink(discard, nullptr);
  log::clear_recent();
  log::write(log::Level::warn, "storage", "first \"quoted\"");
  log::write(log::Level::error, "broker", "second");
  log::set_sink(nullptr, nullptr);
  const std::string s = render_status(AdminView{});
  const size_t at = s.find("\"recent_errors\":[{\"time_ms\":");
  ASSERT_NE(at, std::string::npos) << s;
  const size_t first = s.find(R"("level":"warn","module":"storage","message":"first \"quoted\""})");
  const size_t second = s.find(R"("level":"error","module":"broker","message":"second"})");
  EXPECT_NE(first, std::string::npos) << s;
  EXPECT_NE(second, std::string::npos) << s;
  EXPECT_LT(first, second);
  log::clear_recent();
  EXPECT_NE(render_status(AdminView{}).find("\"recent_errors\":[]"), std::string::npos);
}

TEST(StatusPage, SelfContainedAndPollsStatus) {
  const std::string_view page = status_page_html();
  EXPECT_EQ(page.substr(0, 15), "<!doctype html>");
  EXPECT_NE(page.find("new URL(\"v1/status\""), std::string_view::npos);
  EXPECT_NE(page.find("name=\"viewport\""), std::string_view::npos);
  // Nothing is loaded from elsewhere: no external scripts, styles, fonts or images.
  EXPECT_EQ(page.find("http://"), std::string_view::npos);
  EXPECT_EQ(page.find("https://"), std::string_view::npos);
  EXPECT_EQ(page.find("<script src"), std::string_view::npos);
  EXPECT_EQ(page.find("@import"), std::string_view::npos);
}

}  // namespace
}  // namespace ferry::admin
