#include "shard/dashboard_page.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>

#include "core/check.h"

namespace ringcast::shard {

namespace {

size_t Count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

std::optional<std::string_view> InlineElement(std::string_view html, std::string_view tag) {
  const std::string open = "<" + std::string(tag);
  const std::string close = "</" + std::string(tag) + ">";
  // Every "<tag" counts, with attributes or not: a second element would be
  // refused by the policy, so the page must not have one.
  if (Count(html, open) != 1 || Count(html, close) != 1) return std::nullopt;
  const size_t start = html.find(open + ">");
  const size_t end = html.find(close);
  if (start == std::string_view::npos || end < start) return std::nullopt;
  const size_t body = start + open.size() + 1;
  return html.substr(body, end - body);
}

std::string CspHashSource(std::string_view text) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest;
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  std::array<unsigned char, 4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1> encoded;  // and a NUL
  const int n = EVP_EncodeBlock(encoded.data(), digest.data(), static_cast<int>(digest.size()));
  return "'sha256-" + std::string(reinterpret_cast<const char*>(encoded.data()), n) + "'";
}

const DashboardPage& DashboardPage::Get() {
  static const DashboardPage page(DashboardHtml());
  return page;
}

DashboardPage::DashboardPage(std::string_view html) : html_(html) {
  std::optional<std::string_view> style = InlineElement(html, "style");
  std::optional<std::string_view> script = InlineElement(html, "script");
  RC_CHECK(style.has_value() && script.has_value());
  csp_ = "default-src 'none'; script-src " + CspHashSource(*script) + "; style-src " +
         CspHashSource(*style) +
         "; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
         "frame-ancestors 'none'";
  headers_ = "Content-Security-Policy: " + csp_ +
             "\r\nX-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"
             "Referrer-Policy: no-referrer\r\n";
}

}  // namespace ringcast::shard
