#include "tessera/mt/nllb_languages.h"

#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tessera/core/error.h"

namespace tessera::mt {

namespace {

struct IsoTable {
  std::map<std::string, std::string> alpha3_of_alpha2, alpha2_of_alpha3;
  std::map<std::string, bool> known_alpha3;
};

const IsoTable& iso_table(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, IsoTable> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(path);
  if (it != cache.end()) return it->second;
  std::ifstream in(path);
  TESSERA_CHECK_INPUT(in.good(), "{}: cannot open the ISO 639-3 table (package iso-codes)", path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  IsoTable table;
  try {
    auto j = nlohmann::json::parse(buffer.str());
    for (const auto& entry : j.at("639-3")) {
      std::string a3 = entry.at("alpha_3");
      table.known_alpha3[a3] = true;
      if (entry.contains("alpha_2")) {
        std::string a2 = entry["alpha_2"];
        table.alpha3_of_alpha2[a2] = a3;
        table.alpha2_of_alpha3[a3] = a2;
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw bad_input("{}: not the iso-codes ISO 639-3 table: {}", path, e.what());
  }
  return cache[path] = std::move(table);
}

// NLLB-200 names individual languages where ISO 639-1 names a macrolanguage.
const std::map<std::string, std::string>& nllb_member_of_macrolanguage() {
  static const std::map<std::string, std::string> m = {
      {"ara", "arb"}, {"fas", "pes"}, {"msa", "zsm"}, {"est", "est"}, {"lav", "lvs"},
      {"sqi", "als"}, {"uzb", "uzn"}, {"mon", "khk"}, {"swa", "swh"}, {"nor", "nob"},
      {"aze", "azj"}, {"pus", "pbt"}, {"kur", "kmr"}, {"orm", "gaz"}, {"que", "quy"},
      {"grn", "grn"}, {"zho", "zho"}, {"yid", "ydd"}, {"mlg", "plt"}, {"ori", "ory"},
      {"kon", "kon"}, {"aka", "twi"}, {"hbs", "hrv"}, {"nep", "npi"}, {"kau", "knc"},
      {"srd", "srd"}, {"tgl", "tgl"}, {"fil", "fil"}};
  return m;
}

// Scripts of languages not written in Latin letters (the default).
const std::map<std::string, std::string>& script_of_language() {
  static const std::map<std::string, std::string> m = {
      {"rus", "Cyrl"}, {"ukr", "Cyrl"}, {"bel", "Cyrl"}, {"bul", "Cyrl"}, {"mkd", "Cyrl"},
      {"srp", "Cyrl"}, {"kaz", "Cyrl"}, {"kir", "Cyrl"}, {"tgk", "Cyrl"}, {"tat", "Cyrl"},
      {"bak", "Cyrl"}, {"khk", "Cyrl"}, {"che", "Cyrl"}, {"chv", "Cyrl"}, {"oss", "Cyrl"},
      {"abk", "Cyrl"}, {"ell", "Grek"}, {"heb", "Hebr"}, {"ydd", "Hebr"}, {"arb", "Arab"},
      {"pes", "Arab"}, {"urd", "Arab"}, {"pbt", "Arab"}, {"snd", "Arab"}, {"uig", "Arab"},
      {"ckb", "Arab"}, {"hin", "Deva"}, {"mar", "Deva"}, {"npi", "Deva"}, {"san", "Deva"},
      {"mai", "Deva"}, {"bho", "Deva"}, {"ben", "Beng"}, {"asm", "Beng"}, {"guj", "Gujr"},
      {"pan", "Guru"}, {"tam", "Taml"}, {"tel", "Telu"}, {"kan", "Knda"}, {"mal", "Mlym"},
      {"sin", "Sinh"}, {"tha", "Thai"}, {"lao", "Laoo"}, {"mya", "Mymr"}, {"khm", "Khmr"},
      {"kat", "Geor"}, {"hye", "Armn"}, {"amh", "Ethi"}, {"tir", "Ethi"}, {"byn", "Ethi"},
      {"jpn", "Jpan"}, {"kor", "Hang"}, {"zho", "Hans"}, {"bod", "Tibt"}, {"dzo", "Tibt"},
      {"ory", "Orya"}, {"div", "Thaa"}, {"chr", "Cher"}, {"iku", "Cans"}};
  return m;
}

}  // namespace

std::optional<std::string> nllb_code_for_locale(const std::string& locale,
                                                const std::string& iso_path) {
  std::string lang = locale, region, modifier;
  if (size_t at = lang.find('@'); at != std::string::npos) {
    modifier = lang.substr(at + 1);
    lang = lang.substr(0, at);
  }
  if (size_t dot = lang.find('.'); dot != std::string::npos) lang = lang.substr(0, dot);
  if (size_t us = lang.find('_'); us != std::string::npos) {
    region = lang.substr(us + 1);
    lang = lang.substr(0, us);
  }
  if (lang.empty() || lang == "C" || lang == "POSIX" || lang == "en" || lang == "eng")
    return std::nullopt;
  for (char c : lang)
    if (c < 'a' || c > 'z') return std::nullopt;
  const IsoTable& table = iso_table(iso_path);
  std::string a3;
  if (lang.size() == 2) {
    auto it = table.alpha3_of_alpha2.find(lang);
    if (it == table.alpha3_of_alpha2.end()) return std::nullopt;
    a3 = it->second;
  } else if (lang.size() == 3 && table.known_alpha3.count(lang)) {
    a3 = lang;
  } else {
    return std::nullopt;
  }
  if (auto it = nllb_member_of_macrolanguage().find(a3); it != nllb_member_of_macrolanguage().end())
    a3 = it->second;
  std::string script = "Latn";
  if (auto it = script_of_language().find(a3); it != script_of_language().end())
    script = it->second;
  if (modifier == "latin")
    script = "Latn";
  else if (modifier == "cyrillic")
    script = "Cyrl";
  else if (!modifier.empty())
    return std::nullopt;  // en@quot, ca@valencia: variants, not languages
  if (a3 == "zho" && (region == "TW" || region == "HK" || region == "MO")) script = "Hant";
  return a3 + "_" + script;
}

std::string cld2_code_for(const std::string& nllb_code) {
  std::string a3 = nllb_code.substr(0, nllb_code.find('_'));
  static const std::map<std::string, std::string> reverse_members = {
      {"arb", "ar"}, {"pes", "fa"}, {"zsm", "ms"}, {"lvs", "lv"}, {"als", "sq"},
      {"uzn", "uz"}, {"khk", "mn"}, {"swh", "sw"}, {"nob", "no"}, {"azj", "az"},
      {"pbt", "ps"}, {"kmr", "ku"}, {"gaz", "om"}, {"quy", "qu"}, {"ydd", "yi"},
      {"plt", "mg"}, {"ory", "or"}, {"npi", "ne"}, {"zho", "zh"}};
  if (auto it = reverse_members.find(a3); it != reverse_members.end()) return it->second;
  const IsoTable& table = iso_table("/usr/share/iso-codes/json/iso_639-3.json");
  auto it = table.alpha2_of_alpha3.find(a3);
  return it == table.alpha2_of_alpha3.end() ? "" : it->second;
}

}  // namespace tessera::mt
