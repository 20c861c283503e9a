// PyTorch checkpoint reader: two files written by torch 1.13's torch.save (embedded below as
// hex: an OrderedDict with f32/f16/bf16, a transposed and a strided view; a Linear's state_dict
// with its _metadata BUILD), checkpoints written by the test helper (stored and deflated), and
// bad files failing with the item named.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "tessera/core/io/torch_pickle.h"
#include "torch_save_writer.h"

namespace tessera::io {
namespace {

namespace fs = std::filesystem;

const char* const kGoldenHex =
    "504b0304000008080000000000000000000000000000000000000f001300676f6c64656e2f646174612e706b6c4642"
    "0f"
    "005a5a5a5a5a5a5a5a5a5a5a5a5a5a5a800263636f6c6c656374696f6e730a4f726465726564446963740a71002952"
    "71"
    "0128580100000077710263746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f76320a71032828"
    "58"
    "0700000073746f72616765710463746f7263680a466c6f617453746f726167650a7105580100000030710658030000"
    "00"
    "63707571074b06747108514b004b024b038671094b034b0186710a8968002952710b74710c52710d58010000006871"
    "0e"
    "68032828680463746f7263680a48616c6653746f726167650a710f580100000031711068074b02747111514b004b02"
    "85"
    "71124b0185711389680029527114747115527116580100000062711768032828680463746f7263680a42466c6f6174"
    "31"
    "3653746f726167650a7118580100000032711968074b0474711a514b004b024b0286711b4b014b0286711c89680029"
    "52"
    "711d74711e52711f58010000007671206803282868046805580100000033712168074b0a747122514b024b03857123"
    "4b"
    "028571248968002952712574712652712758010000007371286803282868046805682168074b0a747129514b004b0a"
    "85"
    "712a4b0185712b8968002952712c74712d52712e752e504b07089a882064b6010000b6010000504b03040000080800"
    "00"
    "000000000000000000000000000000000d000f00676f6c64656e2f646174612f3046420b005a5a5a5a5a5a5a5a5a5a"
    "5a"
    "000000000000003f0000803f0000c03f0000004000002040504b070853b957cd1800000018000000504b0304000008"
    "08"
    "0000000000000000000000000000000000000d002d00676f6c64656e2f646174612f31464229005a5a5a5a5a5a5a5a"
    "5a"
    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a003e00c0504b070836d5d594040000"
    "00"
    "04000000504b0304000008080000000000000000000000000000000000000d004100676f6c64656e2f646174612f32"
    "46"
    "423d005a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
    "5a"
    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a803e4040803f80bf504b070859f4dd3b0800000008000000504b0304000008"
    "08"
    "0000000000000000000000000000000000000d003d00676f6c64656e2f646174612f33464239005a5a5a5a5a5a5a5a"
    "5a"
    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
    "5a"
    "000000000000803f0000004000004040000080400000a0400000c0400000e0400000004100001041504b070869e7a5"
    "e6"
    "2800000028000000504b0304000008080000000000000000000000000000000000000e001c00676f6c64656e2f7665"
    "72"
    "73696f6e464218005a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a330a504b0708d19e67550200000002"
    "00"
    "0000504b01020000000008080000000000009a882064b6010000b60100000f00000000000000000000000000000000"
    "00"
    "676f6c64656e2f646174612e706b6c504b010200000000080800000000000053b957cd18000000180000000d000000"
    "00"
    "00000000000000000006020000676f6c64656e2f646174612f30504b010200000000080800000000000036d5d59404"
    "00"
    "0000040000000d0000000000000000000000000068020000676f6c64656e2f646174612f31504b0102000000000808"
    "00"
    "000000000059f4dd3b08000000080000000d00000000000000000000000000d4020000676f6c64656e2f646174612f"
    "32"
    "504b010200000000080800000000000069e7a5e628000000280000000d000000000000000000000000005803000067"
    "6f"
    "6c64656e2f646174612f33504b0102000000000808000000000000d19e675502000000020000000e00000000000000"
    "00"
    "0000000000f8030000676f6c64656e2f76657273696f6e504b06062c000000000000001e032d000000000000000000"
    "06"
    "00000000000000060000000000000065010000000000005204000000000000504b060700000000b705000000000000"
    "01"
    "000000504b0506000000000600060065010000520400000000";
const char* const kLinearHex =
    "504b0304000008080000000000000000000000000000000000000f0013006c696e6561722f646174612e706b6c4642"
    "0f"
    "005a5a5a5a5a5a5a5a5a5a5a5a5a5a5a800263636f6c6c656374696f6e730a4f726465726564446963740a71002952"
    "71"
    "01285806000000776569676874710263746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f7632"
    "0a"
    "71032828580700000073746f72616765710463746f7263680a466c6f617453746f726167650a710558010000003071"
    "06"
    "580300000063707571074b06747108514b004b024b038671094b034b0186710a8968002952710b74710c52710d5804"
    "00"
    "000062696173710e6803282868046805580100000031710f68074b02747110514b004b028571114b01857112896800"
    "29"
    "527113747114527115757d711658090000005f6d657461646174617117680029527118580000000071197d711a5807"
    "00"
    "000076657273696f6e711b4b01737373622e504b07082873b89d2201000022010000504b0304000008080000000000"
    "00"
    "0000000000000000000000000d0023006c696e6561722f646174612f3046421f005a5a5a5a5a5a5a5a5a5a5a5a5a5a"
    "5a"
    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a0000803f0000004000004040000080400000a0400000c040504b070824e539"
    "19"
    "1800000018000000504b0304000008080000000000000000000000000000000000000d002d006c696e6561722f6461"
    "74"
    "612f31464229005a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
    "5a"
    "0000003f000000bf504b0708235e8d1d0800000008000000504b030400000808000000000000000000000000000000"
    "00"
    "00000e003c006c696e6561722f76657273696f6e464238005a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
    "5a"
    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a330a504b0708d19e67550200000002"
    "00"
    "0000504b01020000000008080000000000002873b89d22010000220100000f00000000000000000000000000000000"
    "00"
    "6c696e6561722f646174612e706b6c504b010200000000080800000000000024e5391918000000180000000d000000"
    "00"
    "000000000000000000720100006c696e6561722f646174612f30504b0102000000000808000000000000235e8d1d08"
    "00"
    "0000080000000d00000000000000000000000000e80100006c696e6561722f646174612f31504b0102000000000808"
    "00"
    "0000000000d19e675502000000020000000e00000000000000000000000000580200006c696e6561722f7665727369"
    "6f"
    "6e504b06062c000000000000001e032d00000000000000000004000000000000000400000000000000ef0000000000"
    "00"
    "00d202000000000000504b060700000000c10300000000000001000000504b05060000000004000400ef000000d202"
    "00"
    "000000";

std::string from_hex(const char* hex) {
  std::string out;
  for (size_t i = 0; hex[i] && hex[i + 1]; i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex + i, 2), nullptr, 16)));
  return out;
}

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& name)
      : path((fs::temp_directory_path() /
              ("tessera_pickle_" + std::to_string(::getpid()) + "_" + name))
                 .string()) {}
  ~TempFile() { fs::remove(path); }
  void write(const std::string& bytes) const { std::ofstream(path, std::ios::binary) << bytes; }
};

std::string error_of(const std::string& path) {
  try {
    load_torch_state_dict(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TorchPickle, ReadsWhatTorchSaveWrote) {
  TempFile file("golden.pt");
  file.write(from_hex(kGoldenHex));
  auto sd = load_torch_state_dict(file.path);
  ASSERT_EQ(sd.size(), 5u);
  EXPECT_EQ(sd["w"].shape(), (Shape{2, 3}));
  EXPECT_EQ(sd["w"].to_vector<float>(), (std::vector<float>{0, 0.5, 1, 1.5, 2, 2.5}));
  EXPECT_EQ(sd["h"].dtype(), DType::f16);
  EXPECT_EQ(sd["h"].to_vector<float>(), (std::vector<float>{1.5, -2.0}));
  EXPECT_EQ(sd["b"].dtype(), DType::bf16);  // the transpose of [[0.25, 3], [1, -1]]
  EXPECT_EQ(sd["b"].to_vector<float>(), (std::vector<float>{0.25, 1, 3, -1}));
  EXPECT_EQ(sd["v"].to_vector<float>(), (std::vector<float>{2, 4, 6}));  // base[2:8:2]
  EXPECT_EQ(sd["s"].numel(), 10);
}

TEST(TorchPickle, ReadsAModuleStateDictWithMetadata) {
  TempFile file("linear.pt");
  file.write(from_hex(kLinearHex));
  auto sd = load_torch_state_dict(file.path);
  ASSERT_EQ(sd.size(), 2u);
  EXPECT_EQ(sd["weight"].to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(sd["bias"].to_vector<float>(), (std::vector<float>{0.5, -0.5}));
}

TEST(TorchPickle, RoundTripsTheHelperWriterStoredAndDeflated) {
  Tensor a = Tensor::from_vector<float>({1, -2, 3.5, 4, 5, 6}, {3, 2});
  Tensor b = Tensor::from_vector<double>({0.125, 9}, {2});
  Tensor c = Tensor::from_vector<float>({7, 8}, {2}).to(DType::bf16);
  for (bool deflate : {false, true}) {
    TempFile file(deflate ? "deflated.bin" : "stored.bin");
    testing::write_torch_checkpoint(file.path, {{"layer.a", a}, {"b", b}, {"c", c}}, deflate);
    auto sd = load_torch_state_dict(file.path);
    ASSERT_EQ(sd.size(), 3u);
    EXPECT_EQ(sd["layer.a"].to_vector<float>(), a.to_vector<float>());
    EXPECT_EQ(sd["b"].dtype(), DType::f64);
    EXPECT_EQ(sd["b"].to_vector<double>(), b.to_vector<double>());
    EXPECT_EQ(sd["c"].to_vector<float>(), (std::vector<float>{7, 8}));
  }
}

TEST(TorchPickle, RejectsCodeAndBrokenFiles) {
  // A pickle that would call os.system: refused at the GLOBAL, never executed.
  testing::PickleBytes evil;
  evil.op(0x80).op(2).global("os", "system").unicode("echo pwned").op(0x85).op('R').op('.');
  testing::ZipWriter zip;
  zip.add("archive/data.pkl", evil.str());
  TempFile file("evil.bin");
  file.write(zip.finish());
  EXPECT_NE(error_of(file.path).find("global os.system is not allowed"), std::string::npos)
      << error_of(file.path);

  // A storage whose view reaches past its bytes.
  Tensor a = Tensor::from_vector<float>({1, 2, 3, 4}, {4});
  std::string pickle = testing::state_dict_pickle({{"a", a}});
  testing::ZipWriter short_zip;
  short_zip.add("archive/data.pkl", pickle);
  short_zip.add("archive/data/0", std::string(8, '\0'));
  TempFile truncated("short.bin");
  truncated.write(short_zip.finish());
  EXPECT_NE(error_of(truncated.path).find("storage 0 claims 4 elements"), std::string::npos)
      << error_of(truncated.path);

  // A missing storage entry names the entry.
  testing::ZipWriter missing;
  missing.add("archive/data.pkl", pickle);
  TempFile no_data("missing.bin");
  no_data.write(missing.finish());
  EXPECT_NE(error_of(no_data.path).find("archive/data/0"), std::string::npos)
      << error_of(no_data.path);

  // Legacy format, random bytes, a truncated archive.
  TempFile legacy("legacy.bin");
  legacy.write(std::string("\x80\x02\x8a\x0a", 4));
  EXPECT_NE(error_of(legacy.path).find("legacy"), std::string::npos);
  TempFile junk("junk.bin");
  junk.write("definitely not a checkpoint");
  EXPECT_FALSE(error_of(junk.path).empty());
  std::string golden = from_hex(kGoldenHex);
  for (size_t cut : {size_t{10}, golden.size() / 2, golden.size() - 5}) {
    TempFile cut_file("cut.bin");
    cut_file.write(golden.substr(0, cut));
    EXPECT_FALSE(error_of(cut_file.path).empty()) << cut;
  }
  // Every single-byte corruption of the pickle either parses or fails cleanly.
  for (size_t i = 0; i < pickle.size(); ++i) {
    std::string bad = pickle;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    testing::ZipWriter z;
    z.add("archive/data.pkl", bad);
    z.add("archive/data/0", std::string(16, '\0'));
    const std::string bytes = z.finish();
    try {
      read_torch_state_dict(
          ZipArchive::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "x"));
    } catch (const Error&) {
    }
  }
}

}  // namespace
}  // namespace tessera::io
