// DashboardPage: the policy's hash sources (known SHA-256 vectors), and that
// only a page with exactly one plain inline script and style gets a policy:
// a second element, or one with attributes (src=...), would be refused by the
// browser or load from elsewhere, so InlineElement refuses it.
#include "shard/dashboard_page.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

namespace ringcast::shard {
namespace {

TEST(DashboardPageTest, CspHashSourceIsTheBase64OfTheSha256) {
  EXPECT_EQ(CspHashSource(""), "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='");
  EXPECT_EQ(CspHashSource("abc"), "'sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0='");
}

TEST(DashboardPageTest, InlineElementTakesTheTextOfTheOneElement) {
  const std::string html = "<p>x</p><style>a{}</style><script>run();</script>";
  EXPECT_EQ(InlineElement(html, "style"), std::optional<std::string_view>("a{}"));
  EXPECT_EQ(InlineElement(html, "script"), std::optional<std::string_view>("run();"));
  EXPECT_EQ(InlineElement("<script></script>", "script"), std::optional<std::string_view>(""));
}

TEST(DashboardPageTest, InlineElementRefusesNoneTwoOrAttributes) {
  EXPECT_EQ(InlineElement("<p>no script</p>", "script"), std::nullopt);
  EXPECT_EQ(InlineElement("<script>a</script><script>b</script>", "script"), std::nullopt);
  EXPECT_EQ(InlineElement("<script>a</script><script src=x></script>", "script"), std::nullopt);
  EXPECT_EQ(InlineElement("<script src=\"x.js\"></script>", "script"), std::nullopt);
  EXPECT_EQ(InlineElement("<script>a", "script"), std::nullopt);
  EXPECT_EQ(InlineElement("</script><script>", "script"), std::nullopt);
}

TEST(DashboardPageTest, PolicyAdmitsThePagesOwnScriptAndStyleOnly) {
  const std::string html = "<style>b{}</style><script>go();</script>";
  DashboardPage page(html);
  EXPECT_EQ(page.html(), html);
  EXPECT_EQ(page.content_security_policy(),
            "default-src 'none'; script-src " + CspHashSource("go();") + "; style-src " +
                CspHashSource("b{}") +
                "; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
                "frame-ancestors 'none'");
  EXPECT_EQ(page.headers().rfind(
                "Content-Security-Policy: " + page.content_security_policy() + "\r\n", 0),
            0u);
}

// The embedded page is one the policy can be built for (else Get() crashes).
TEST(DashboardPageTest, TheEmbeddedPageHasItsPolicy) {
  const DashboardPage& page = DashboardPage::Get();
  EXPECT_EQ(page.html(), DashboardHtml());
  EXPECT_NE(page.content_security_policy().find(
                "script-src " + CspHashSource(*InlineElement(DashboardHtml(), "script"))),
            std::string::npos);
}

}  // namespace
}  // namespace ringcast::shard
