// The status page served at "/": placeholder until the page is written.
#include "admin/admin_service.h"

namespace ferry::admin {

std::string_view status_page_html() {
  return "<!doctype html><html><head><meta charset=\"utf-8\"><title>ferry</title></head>"
         "<body><p>See <a href=\"/v1/status\">/v1/status</a>.</p></body></html>\n";
}

}  // namespace ferry::admin
