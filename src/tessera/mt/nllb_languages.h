#pragma once
// Language codes in NLLB's form (ISO 639-3 + "_" + ISO 15924 script, e.g. fra_Latn, zho_Hant)
// for the locales that gettext catalogues are filed under (fr, pt_BR, zh_TW, sr@latin, ...).
#include <optional>
#include <string>

namespace tessera::mt {

// The NLLB code of a locale folder name, or nullopt when it names no single written language
// (English variants, "C", unknown codes). ISO 639-1 codes become ISO 639-3 through the
// iso-codes package's table (`iso_table`, default /usr/share/iso-codes/json/iso_639-3.json);
// where NLLB uses a macrolanguage member (arb, pes, zsm, ...) that member's code is taken.
std::optional<std::string> nllb_code_for_locale(
    const std::string& locale,
    const std::string& iso_table = "/usr/share/iso-codes/json/iso_639-3.json");

// The two-letter (or three-letter) code CLD2 reports for an NLLB code's language ("fr" for
// fra_Latn), or "" when CLD2 does not know it.
std::string cld2_code_for(const std::string& nllb_code);

}  // namespace tessera::mt
