# Build step (cmake -P): writes INPUT's bytes into OUTPUT as a C++ raw string
# literal, the body of `std::string_view FUNCTION()` in namespace ringcast::shard,
# so a page is compiled into the binary and needs no file at run time.
# Refuses input that would end the literal early.
set(delimiter "rc_embed")
file(READ "${INPUT}" text)
string(FIND "${text}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains )${delimiter}\" and cannot be embedded")
endif()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by shard/embed_text.cmake. Do not edit.\n"
  "#include <string_view>\n\n"
  "namespace ringcast::shard {\n\n"
  "std::string_view ${FUNCTION}() {\n"
  "  static constexpr char kText[] = R\"${delimiter}(")
file(APPEND "${OUTPUT}.tmp" "${text}")
file(APPEND "${OUTPUT}.tmp"
  ")${delimiter}\";\n"
  "  return {kText, sizeof(kText) - 1};\n"
  "}\n\n"
  "}  // namespace ringcast::shard\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
