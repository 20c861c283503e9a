// The pickle virtual machine, restricted to data: it builds values (None, bools, ints, floats,
// strings, bytes, lists, tuples, dicts) and the three torch constructs a state dict needs
// (persistent storage ids, _rebuild_tensor_v2, _rebuild_parameter). GLOBAL resolves only an
// allow-list of names to markers; REDUCE applies only those markers. Nothing is imported or
// called, so a malicious pickle can at most produce an error.
#include "tessera/core/io/torch_pickle.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <unordered_map>

#include "tessera/core/error.h"

namespace tessera::io {

namespace {

struct Value;
// Values live in the unpickler's arena and point at each other with plain pointers: a pickle can
// build cycles (a list appended to itself), which reference counting would leak.
using ValuePtr = Value*;

struct Value {
  enum class Kind {
    none,
    boolean,
    integer,
    real,
    string,
    bytes,
    list,
    tuple,
    dict,
    global,
    storage,
    tensor,
    mark
  };
  Kind kind = Kind::none;
  int64_t integer = 0;
  double real = 0.0;
  std::string text;             // string, bytes, global name ("module.name"), storage key
  std::vector<ValuePtr> items;  // list, tuple
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // dict
  DType dtype = DType::f32;                            // storage
  int64_t numel = 0;                                   // storage
  Tensor tensor;
};

const char* kind_name(Value::Kind k) {
  switch (k) {
    case Value::Kind::none:
      return "None";
    case Value::Kind::boolean:
      return "bool";
    case Value::Kind::integer:
      return "int";
    case Value::Kind::real:
      return "float";
    case Value::Kind::string:
      return "str";
    case Value::Kind::bytes:
      return "bytes";
    case Value::Kind::list:
      return "list";
    case Value::Kind::tuple:
      return "tuple";
    case Value::Kind::dict:
      return "dict";
    case Value::Kind::global:
      return "global";
    case Value::Kind::storage:
      return "storage";
    case Value::Kind::tensor:
      return "tensor";
    case Value::Kind::mark:
      return "mark";
  }
  return "?";
}

// Storage classes torch pickles by name, and the dtype of their elements.
const std::unordered_map<std::string, DType>& storage_types() {
  static const std::unordered_map<std::string, DType> types = {
      {"torch.FloatStorage", DType::f32}, {"torch.DoubleStorage", DType::f64},
      {"torch.HalfStorage", DType::f16},  {"torch.BFloat16Storage", DType::bf16},
      {"torch.LongStorage", DType::i64},  {"torch.IntStorage", DType::i32},
      {"torch.CharStorage", DType::i8},   {"torch.ByteStorage", DType::u8},
      {"torch.BoolStorage", DType::u8}};
  return types;
}

const std::set<std::string>& allowed_globals() {
  static const std::set<std::string> names = {"collections.OrderedDict",
                                              "torch._utils._rebuild_tensor_v2",
                                              "torch._utils._rebuild_parameter"};
  return names;
}

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, const ZipArchive& archive, std::string prefix)
      : data_(data), size_(size), archive_(archive), prefix_(std::move(prefix)) {}

  ValuePtr run() {
    while (true) {
      const uint8_t op = byte();
      switch (op) {
        case 0x80:
          byte();
          break;  // PROTO
        case 0x95:
          take(8);
          break;  // FRAME: framing is only a hint
        case '.':
          return finish();  // STOP
        case '(':
          push(make(Value::Kind::mark));
          break;
        case '}':
          push(make(Value::Kind::dict));
          break;
        case ']':
          push(make(Value::Kind::list));
          break;
        case ')':
          push(make(Value::Kind::tuple));
          break;
        case 'N':
          push(make(Value::Kind::none));
          break;
        case 0x88:
          push(boolean(true));
          break;
        case 0x89:
          push(boolean(false));
          break;
        case 'K':
          push(integer(byte()));
          break;
        case 'M':
          push(integer(little(2)));
          break;
        case 'J':
          push(integer(static_cast<int32_t>(static_cast<uint32_t>(little(4)))));
          break;
        case 0x8a:
          push(integer(long1()));
          break;
        case 'G':
          push(real());
          break;
        case 'X':
          push(text(Value::Kind::string, little(4)));
          break;
        case 0x8c:
          push(text(Value::Kind::string, byte()));
          break;
        case 0x8d:
          push(text(Value::Kind::string, little(8)));
          break;
        case 'T':
          push(text(Value::Kind::bytes, little(4)));
          break;
        case 'U':
          push(text(Value::Kind::bytes, byte()));
          break;
        case 'B':
          push(text(Value::Kind::bytes, little(4)));
          break;
        case 'C':
          push(text(Value::Kind::bytes, byte()));
          break;
        case 0x8e:
          push(text(Value::Kind::bytes, little(8)));
          break;
        case 'q':
          memo_[byte()] = top();
          break;  // BINPUT
        case 'r':
          memo_[little(4)] = top();
          break;  // LONG_BINPUT
        case 0x94:
          memo_[memo_.size()] = top();
          break;  // MEMOIZE
        case 'h':
          push(memo(byte()));
          break;  // BINGET
        case 'j':
          push(memo(little(4)));
          break;  // LONG_BINGET
        case 't':
          push(tuple(pop_to_mark()));
          break;
        case 0x85:
          push(tuple(pop_n(1)));
          break;
        case 0x86:
          push(tuple(pop_n(2)));
          break;
        case 0x87:
          push(tuple(pop_n(3)));
          break;
        case 'l':
          push(list(pop_to_mark()));
          break;
        case 'd':
          push(dict(pop_to_mark()));
          break;
        case 'a':
          append({pop()});
          break;
        case 'e':
          append(pop_to_mark());
          break;
        case 's': {
          std::vector<ValuePtr> kv = pop_n(2);
          setitems(kv);
          break;
        }
        case 'u':
          setitems(pop_to_mark());
          break;
        case 'c': {  // GLOBAL: "module\nname\n" (read in order: operands of + are unsequenced)
          const std::string module = line();
          push(global(module + "." + line()));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          std::vector<ValuePtr> mn = pop_n(2);
          expect(mn[0], Value::Kind::string, "STACK_GLOBAL module");
          expect(mn[1], Value::Kind::string, "STACK_GLOBAL name");
          push(global(mn[0]->text + "." + mn[1]->text));
          break;
        }
        case 'Q':
          push(persistent(pop()));
          break;     // BINPERSID
        case 'R': {  // REDUCE
          ValuePtr args = pop(), callable = pop();
          push(reduce(callable, args));
          break;
        }
        case 0x81: {  // NEWOBJ: cls.__new__(cls, *args), for OrderedDict only
          ValuePtr args = pop(), cls = pop();
          push(reduce(cls, args));
          break;
        }
        case 'b': {  // BUILD: object state (OrderedDict's _metadata): ignored, the object stays
          pop();
          top();
          break;
        }
        default:
          fail("opcode 0x{:02x} is not allowed in a state dict", op);
      }
    }
  }

 private:
  ValuePtr make(Value::Kind kind) {
    arena_.push_back(std::make_unique<Value>());
    arena_.back()->kind = kind;
    return arena_.back().get();
  }

  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
    throw bad_input("{}: pickle byte {}: {}", archive_.source(), position_,
                    fmt::format(format, std::forward<Args>(args)...));
  }

  uint8_t byte() {
    if (position_ >= size_) fail("unexpected end of the pickle");
    return data_[position_++];
  }
  const uint8_t* take(uint64_t n) {
    if (n > size_ - position_) fail("a {}-byte item runs past the end of the pickle", n);
    const uint8_t* p = data_ + position_;
    position_ += n;
    return p;
  }
  uint64_t little(int n) {
    const uint8_t* p = take(n);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  }
  int64_t long1() {
    const uint8_t n = byte();
    if (n > 8) fail("integer of {} bytes is too large", n);
    const uint8_t* p = take(n);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
    if (n > 0 && n < 8 && (p[n - 1] & 0x80)) v |= ~uint64_t{0} << (8 * n);  // sign-extend
    return static_cast<int64_t>(v);
  }
  std::string line() {
    std::string out;
    while (true) {
      const uint8_t c = byte();
      if (c == '\n') return out;
      out.push_back(static_cast<char>(c));
      if (out.size() > 256) fail("GLOBAL name longer than 256 bytes");
    }
  }

  ValuePtr boolean(bool b) {
    auto v = make(Value::Kind::boolean);
    v->integer = b;
    return v;
  }
  ValuePtr integer(int64_t i) {
    auto v = make(Value::Kind::integer);
    v->integer = i;
    return v;
  }
  ValuePtr real() {
    const uint8_t* p = take(8);  // big-endian IEEE double
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];
    auto v = make(Value::Kind::real);
    std::memcpy(&v->real, &bits, 8);
    return v;
  }
  ValuePtr text(Value::Kind kind, uint64_t n) {
    const uint8_t* p = take(n);
    auto v = make(kind);
    v->text.assign(reinterpret_cast<const char*>(p), n);
    return v;
  }
  ValuePtr tuple(std::vector<ValuePtr> items) {
    auto v = make(Value::Kind::tuple);
    v->items = std::move(items);
    return v;
  }
  ValuePtr list(std::vector<ValuePtr> items) {
    auto v = make(Value::Kind::list);
    v->items = std::move(items);
    return v;
  }
  ValuePtr dict(const std::vector<ValuePtr>& kv) {
    auto v = make(Value::Kind::dict);
    if (kv.size() % 2) fail("DICT with an odd number of items");
    for (size_t i = 0; i < kv.size(); i += 2) v->entries.emplace_back(kv[i], kv[i + 1]);
    return v;
  }
  ValuePtr global(const std::string& name) {
    if (!allowed_globals().count(name) && !storage_types().count(name))
      fail(
          "global {} is not allowed (only tensors, storages and OrderedDict are read; nothing is "
          "executed)",
          name);
    auto v = make(Value::Kind::global);
    v->text = name;
    return v;
  }

  void push(ValuePtr v) {
    if (stack_.size() > (1u << 20)) fail("pickle stack deeper than 2^20");
    stack_.push_back(std::move(v));
  }
  ValuePtr pop() {
    if (stack_.empty() || stack_.back()->kind == Value::Kind::mark) fail("pickle stack underflow");
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  ValuePtr top() {
    if (stack_.empty()) fail("pickle stack underflow");
    return stack_.back();
  }
  std::vector<ValuePtr> pop_n(size_t n) {
    std::vector<ValuePtr> out(n);
    for (size_t i = n; i-- > 0;) out[i] = pop();
    return out;
  }
  std::vector<ValuePtr> pop_to_mark() {
    size_t i = stack_.size();
    while (i > 0 && stack_[i - 1]->kind != Value::Kind::mark) --i;
    if (i == 0) fail("no MARK on the pickle stack");
    std::vector<ValuePtr> out(stack_.begin() + static_cast<std::ptrdiff_t>(i), stack_.end());
    stack_.resize(i - 1);
    return out;
  }
  ValuePtr memo(uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) fail("memo key {} was never stored", key);
    return it->second;
  }
  void expect(const ValuePtr& v, Value::Kind kind, const char* what) {
    if (v->kind != kind)
      fail("{} must be a {}, got a {}", what, kind_name(kind), kind_name(v->kind));
  }
  void append(const std::vector<ValuePtr>& items) {
    ValuePtr target = top();
    expect(target, Value::Kind::list, "APPEND target");
    target->items.insert(target->items.end(), items.begin(), items.end());
  }
  void setitems(const std::vector<ValuePtr>& kv) {
    ValuePtr target = top();
    expect(target, Value::Kind::dict, "SETITEM target");
    if (kv.size() % 2) fail("SETITEMS with an odd number of items");
    for (size_t i = 0; i < kv.size(); i += 2) target->entries.emplace_back(kv[i], kv[i + 1]);
  }

  // ('storage', storage_type, key, location, numel) -> the bytes of <prefix>data/<key>.
  ValuePtr persistent(const ValuePtr& pid) {
    expect(pid, Value::Kind::tuple, "persistent id");
    if (pid->items.size() != 5 || pid->items[0]->kind != Value::Kind::string ||
        pid->items[0]->text != "storage")
      fail("persistent id is not a ('storage', type, key, location, numel) tuple");
    expect(pid->items[1], Value::Kind::global, "storage type");
    auto type = storage_types().find(pid->items[1]->text);
    if (type == storage_types().end()) fail("{} is not a storage type", pid->items[1]->text);
    expect(pid->items[2], Value::Kind::string, "storage key");
    expect(pid->items[4], Value::Kind::integer, "storage size");
    auto v = make(Value::Kind::storage);
    v->dtype = type->second;
    v->text = pid->items[2]->text;
    v->numel = pid->items[4]->integer;
    if (v->numel < 0) fail("storage {} has negative size", v->text);
    return v;
  }

  ValuePtr reduce(const ValuePtr& callable, const ValuePtr& args) {
    expect(callable, Value::Kind::global, "REDUCE callable");
    expect(args, Value::Kind::tuple, "REDUCE arguments");
    const std::string& name = callable->text;
    if (name == "collections.OrderedDict") {
      if (!args->items.empty()) fail("OrderedDict with constructor arguments");
      return make(Value::Kind::dict);
    }
    if (name == "torch._utils._rebuild_parameter") {
      if (args->items.size() < 1) fail("_rebuild_parameter without data");
      expect(args->items[0], Value::Kind::tensor, "_rebuild_parameter data");
      return args->items[0];
    }
    if (name == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(*args);
    fail("{} cannot be called", name);
  }

  std::vector<int64_t> int_tuple(const ValuePtr& v, const char* what) {
    expect(v, Value::Kind::tuple, what);
    std::vector<int64_t> out;
    for (const ValuePtr& item : v->items) {
      expect(item, Value::Kind::integer, what);
      out.push_back(item->integer);
    }
    return out;
  }

  ValuePtr rebuild_tensor(const Value& args) {
    if (args.items.size() < 4)
      fail("_rebuild_tensor_v2 needs (storage, offset, size, stride, ...)");
    expect(args.items[0], Value::Kind::storage, "_rebuild_tensor_v2 storage");
    expect(args.items[1], Value::Kind::integer, "_rebuild_tensor_v2 offset");
    const Value& storage = *args.items[0];
    const int64_t offset = args.items[1]->integer;
    const Shape shape = int_tuple(args.items[2], "_rebuild_tensor_v2 size");
    const std::vector<int64_t> stride = int_tuple(args.items[3], "_rebuild_tensor_v2 stride");
    if (shape.size() != stride.size()) fail("tensor size and stride have different lengths");
    const size_t element = dtype_size(storage.dtype);
    const std::string entry = prefix_ + "data/" + storage.text;
    const ZipEntry* zip_entry = archive_.find(entry);
    if (!zip_entry) fail("storage {} has no archive entry {}", storage.text, entry);
    if (static_cast<uint64_t>(storage.numel) > zip_entry->size / element)
      fail("storage {} claims {} elements but {} holds {} bytes", storage.text, storage.numel,
           entry, zip_entry->size);
    // The largest element index the view reaches must lie inside the storage.
    int64_t last = offset, count = 1;
    bool empty = false;
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] < 0 || stride[d] < 0) fail("negative tensor size or stride");
      if (shape[d] == 0) empty = true;
      if (shape[d] > 0 && stride[d] > 0 &&
          (shape[d] - 1) > (std::numeric_limits<int64_t>::max() - last) / stride[d])
        fail("tensor view overflows");
      if (shape[d] > 0) last += (shape[d] - 1) * stride[d];
      if (shape[d] > 0 && count > std::numeric_limits<int64_t>::max() / shape[d])
        fail("tensor size overflows");
      count *= shape[d];
    }
    if (offset < 0 || (!empty && last >= storage.numel))
      fail("tensor view (offset {}, size {}) reaches past its storage of {} elements", offset,
           shape_str(shape), storage.numel);
    // Overlapping views (stride 0) would let a few stored bytes claim any size: refuse them.
    if (count > storage.numel)
      fail("tensor of {} elements is larger than its storage of {}", count, storage.numel);
    auto bytes = storage_bytes(entry);
    Tensor t = Tensor::empty(shape, storage.dtype);
    auto* out = static_cast<uint8_t*>(t.raw_data());
    const auto* in = static_cast<const uint8_t*>(bytes->data());
    if (!empty) {
      // Copy element runs along the innermost axis (one memcpy when it is contiguous).
      std::vector<int64_t> index(shape.size(), 0);
      const int64_t inner = shape.empty() ? 1 : shape.back();
      const bool inner_contiguous = shape.empty() || stride.back() == 1;
      for (int64_t row = 0; row < count / std::max<int64_t>(inner, 1); ++row) {
        int64_t source = offset;
        for (size_t d = 0; d + 1 < shape.size(); ++d) source += index[d] * stride[d];
        uint8_t* target = out + row * inner * element;
        if (inner_contiguous) {
          std::memcpy(target, in + source * element, inner * element);
        } else {
          for (int64_t i = 0; i < inner; ++i)
            std::memcpy(target + i * element, in + (source + i * stride.back()) * element, element);
        }
        for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d) {
          if (++index[d] < shape[d]) break;
          index[d] = 0;
        }
      }
    }
    auto v = make(Value::Kind::tensor);
    v->tensor = t;
    return v;
  }

  std::shared_ptr<Storage> storage_bytes(const std::string& entry) {
    auto it = storages_.find(entry);
    if (it != storages_.end()) return it->second;
    return storages_[entry] = archive_.read(entry);
  }

  ValuePtr finish() {
    ValuePtr result = pop();
    return result;
  }

  const uint8_t* data_;
  size_t size_;
  size_t position_ = 0;
  const ZipArchive& archive_;
  std::string prefix_;
  std::vector<std::unique_ptr<Value>> arena_;
  std::vector<ValuePtr> stack_;
  std::unordered_map<uint64_t, ValuePtr> memo_;
  std::map<std::string, std::shared_ptr<Storage>> storages_;
};

void flatten(const Value& dict, const std::string& prefix, std::map<std::string, Tensor>& out,
             int depth, const std::string& source) {
  TESSERA_CHECK_INPUT(depth < 16, "{}: state dict nested deeper than 16 levels", source);
  for (const auto& [key, value] : dict.entries) {
    TESSERA_CHECK_INPUT(key->kind == Value::Kind::string,
                        "{}: state dict key is a {}, not a string", source, kind_name(key->kind));
    const std::string name = prefix + key->text;
    if (value->kind == Value::Kind::tensor) {
      TESSERA_CHECK_INPUT(!out.count(name), "{}: tensor {} appears twice", source, name);
      out[name] = value->tensor;
    } else if (value->kind == Value::Kind::dict) {
      flatten(*value, name + ".", out, depth + 1, source);
    }
  }
}

}  // namespace

std::map<std::string, Tensor> read_torch_state_dict(const ZipArchive& archive) {
  const ZipEntry* pickle = nullptr;
  for (const ZipEntry& e : archive.entries()) {
    const std::string& n = e.name;
    if (n == "data.pkl" || (n.size() > 9 && n.compare(n.size() - 9, 9, "/data.pkl") == 0)) {
      if (std::count(n.begin(), n.end(), '/') <= 1) {
        pickle = &e;
        break;
      }
    }
  }
  TESSERA_CHECK_INPUT(pickle != nullptr, "{}: no data.pkl in the archive (not a torch.save file)",
                      archive.source());
  const std::string prefix = pickle->name.substr(0, pickle->name.size() - 8);
  std::shared_ptr<Storage> bytes = archive.read(pickle->name);
  Unpickler unpickler(static_cast<const uint8_t*>(bytes->data()), bytes->nbytes(), archive, prefix);
  ValuePtr root = unpickler.run();
  TESSERA_CHECK_INPUT(root->kind == Value::Kind::dict,
                      "{}: the pickle holds a {}, not a state dict", archive.source(),
                      kind_name(root->kind));
  std::map<std::string, Tensor> out;
  flatten(*root, "", out, 0, archive.source());
  return out;
}

std::map<std::string, Tensor> load_torch_state_dict(const std::string& path) {
  std::shared_ptr<MappedFile> file = MappedFile::open(path);
  const uint8_t* b = file->data();
  if (file->size() >= 2 && b[0] == 0x80 && b[1] <= 5)
    throw bad_input(
        "{}: legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with "
        "torch.save(..., _use_new_zipfile_serialization=True)",
        path);
  TESSERA_CHECK_INPUT(file->size() >= 4 && b[0] == 'P' && b[1] == 'K',
                      "{}: not a PyTorch zip checkpoint (no ZIP signature)", path);
  return read_torch_state_dict(ZipArchive::parse(file->data(), file->size(), path, file));
}

}  // namespace tessera::io
