// XGBoost UBJSON model files (UBJSON draft 12, big-endian) read into flat tree arrays, and their
// multi:softprob prediction.
#include "boosted_trees_internal.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <type_traits>
#include <utility>

#include "psgkit/error.hpp"

namespace psgkit::detail {

namespace {

// A parsed UBJSON value. Typed arrays ([$type#count) stay in the file's bytes: a model is ~20 k
// numbers in ~2 k such arrays, which is what makes this reader ~10× faster than a generic JSON DOM.
// Kept small (56 bytes): a model's DOM has ~5 k of them, and in a fresh process every byte of it is a
// newly faulted page.
struct Member;
struct Value {
  char type = 'Z';  // the UBJSON marker: Z T F i U I l L d D C S, '[' (items), '$' (typed array), '{'
  char element = 0;  // typed array: element marker; count elements of big-endian data
  double number = 0;  // numbers; integers are node indices and lengths, exact up to 2^53
  const unsigned char* data = nullptr;  // S, C: the characters; typed array: the elements
  size_t count = 0;
  // '[': the items (empty keys); '{': the members (std::vector allows the incomplete type).
  std::vector<Member> children;
  std::string_view text() const { return {reinterpret_cast<const char*>(data), count}; }
};
struct Member {
  std::string_view key;
  Value value;
};

size_t scalar_width(char type) {
  switch (type) {
    case 'i': case 'U': case 'C': return 1;
    case 'I': return 2;
    case 'l': case 'd': return 4;
    case 'L': case 'D': return 8;
    default: return 0;
  }
}

bool is_integer_type(char type) { return type == 'i' || type == 'U' || type == 'I' || type == 'l' || type == 'L'; }

template <size_t kWidth>
uint64_t load_big_endian(const unsigned char* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < kWidth; ++i) v = v << 8 | p[i];
  return v;
}

// The scalar of marker kType at p as a double (integers exactly up to 2^53; XGBoost's are node indices).
template <char kType>
double scalar(const unsigned char* p) {
  if constexpr (kType == 'i') return static_cast<int8_t>(p[0]);
  else if constexpr (kType == 'U') return p[0];
  else if constexpr (kType == 'I') return static_cast<int16_t>(load_big_endian<2>(p));
  else if constexpr (kType == 'l') return static_cast<int32_t>(load_big_endian<4>(p));
  else if constexpr (kType == 'L') return static_cast<double>(static_cast<int64_t>(load_big_endian<8>(p)));
  else if constexpr (kType == 'd') return std::bit_cast<float>(static_cast<uint32_t>(load_big_endian<4>(p)));
  else return std::bit_cast<double>(load_big_endian<8>(p));  // 'D'
}

// Calls f(scalar<type>) for the run-time marker `type` (a numeric one: scalar_width(type) > 0, not 'C').
template <typename F>
auto with_scalar_type(char type, F&& f) {
  switch (type) {
    case 'i': return f(std::integral_constant<char, 'i'>());
    case 'U': return f(std::integral_constant<char, 'U'>());
    case 'I': return f(std::integral_constant<char, 'I'>());
    case 'l': return f(std::integral_constant<char, 'l'>());
    case 'L': return f(std::integral_constant<char, 'L'>());
    case 'd': return f(std::integral_constant<char, 'd'>());
    default: return f(std::integral_constant<char, 'D'>());
  }
}

double scalar_at(const unsigned char* p, char type) {
  return with_scalar_type(type, [p](auto t) { return scalar<decltype(t)::value>(p); });
}

class Parser {
 public:
  Parser(std::string_view bytes, const std::string& file)
      : begin_(reinterpret_cast<const unsigned char*>(bytes.data())), p_(begin_), end_(begin_ + bytes.size()),
        file_(file) {}

  Value document() {
    Value root = value(marker(), 0);
    while (p_ < end_ && *p_ == 'N') ++p_;
    if (p_ != end_) fail("bytes after the end of the document");
    return root;
  }

 private:
  static constexpr int kMaxDepth = 32;

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(file_, "UBJSON at byte " + std::to_string(p_ - begin_), what);
  }
  const unsigned char* take(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) fail("truncated (" + std::to_string(n) + " more bytes expected)");
    const unsigned char* at = p_;
    p_ += n;
    return at;
  }
  char marker() {
    char m;
    do m = static_cast<char>(*take(1));
    while (m == 'N');
    return m;
  }
  // A length or count after its marker m: an integer, not negative. `key`: an object key's length (keys
  // carry no 'S' marker, so m is where the key starts).
  size_t length(char m, bool key = false) {
    if (!is_integer_type(m))
      fail(std::string(key ? "expected an object key" : "expected an integer length") + ", found marker '" + m + "'");
    const double n = scalar_at(take(scalar_width(m)), m);
    if (n < 0) fail(key ? "negative key length" : "negative length");
    return static_cast<size_t>(n);
  }
  std::string_view chars(size_t n) { return {reinterpret_cast<const char*>(take(n)), n}; }

  Value value(char m, int depth) {
    if (depth > kMaxDepth) fail("nested deeper than " + std::to_string(kMaxDepth) + " levels");
    Value v;
    v.type = m;
    switch (m) {
      case 'Z': case 'T': case 'F': return v;
      case 'S': v.count = length(marker()); v.data = take(v.count); return v;
      case 'C': v.count = 1; v.data = take(1); return v;
      case '[': container(v, depth, ']'); return v;
      case '{': container(v, depth, '}'); return v;
      default: break;
    }
    const size_t width = scalar_width(m);
    if (width == 0) fail(std::string("unknown or unsupported marker '") + m + "'");
    v.number = scalar_at(take(width), m);
    return v;
  }

  void container(Value& v, int depth, char close) {
    const bool object = close == '}';
    char m = marker();
    if (m == '$') {
      if (object) fail("typed objects are not supported");
      v.type = '$';
      v.element = static_cast<char>(*take(1));
      if (scalar_width(v.element) == 0 || v.element == 'C') fail(std::string("unsupported typed-array element '") + v.element + "'");
      if (marker() != '#') fail("typed array without a count");
      v.count = length(marker());
      if (v.count > static_cast<size_t>(end_ - p_) / scalar_width(v.element)) fail("typed array longer than the file");
      v.data = take(v.count * scalar_width(v.element));
      return;
    }
    const bool counted = m == '#';
    size_t count = 0;
    if (counted) {
      count = length(marker());
      if (count > static_cast<size_t>(end_ - p_)) fail("container longer than the file");
    }
    for (size_t i = 0; !counted || i < count; ++i) {
      if (counted || i > 0) m = marker();  // uncounted: the first marker is already read
      if (!counted && m == close) return;
      if (object) {
        const std::string_view key = chars(length(m, true));
        v.children.push_back({key, value(marker(), depth + 1)});
      } else {
        v.children.push_back({{}, value(m, depth + 1)});
      }
    }
  }

  const unsigned char* begin_;
  const unsigned char* p_;
  const unsigned char* end_;
  const std::string& file_;
};

class Reader {
 public:
  explicit Reader(const std::string& file) : file_(file) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const { throw Error(file_, field, what); }

  const Value* find(const Value& object, std::string_view key, const std::string& path) const {
    if (object.type != '{') fail(path, "not an object");
    for (const Member& m : object.children)
      if (m.key == key) return &m.value;
    return nullptr;
  }
  const Value& member(const Value& object, std::string_view key, const std::string& path) const {
    if (const Value* v = find(object, key, path)) return *v;
    fail(path.empty() ? std::string(key) : path + "." + std::string(key), "missing");
  }
  std::string text(const Value& v, const std::string& field) const {
    if (v.type != 'S' && v.type != 'C') fail(field, "not a string");
    return std::string(v.text());
  }
  // XGBoost keeps the learner's parameters as decimal strings ("5E-1", "65").
  double number_text(const Value& v, const std::string& field) const {
    const std::string s = text(v, field);
    double x = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
    if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(x)) fail(field, "not a number: '" + s + "'");
    return x;
  }
  std::vector<double> numbers(const Value& v, const std::string& field) const {
    std::vector<double> out;
    if (v.type == '$') {
      const size_t width = scalar_width(v.element);
      out.resize(v.count);
      with_scalar_type(v.element, [&](auto t) {
        for (size_t i = 0; i < v.count; ++i) out[i] = scalar<decltype(t)::value>(v.data + i * width);
      });
      return out;
    }
    if (v.type != '[') fail(field, "not an array");
    out.reserve(v.children.size());
    for (const Member& item : v.children) {
      if (scalar_width(item.value.type) == 0 || item.value.type == 'C') fail(field, "array element is not a number");
      out.push_back(item.value.number);
    }
    return out;
  }
  std::vector<uint32_t> indices(const Value& v, const std::string& field, double limit) const {
    std::vector<uint32_t> out;
    for (double x : numbers(v, field)) {
      if (!(x >= 0 && x < limit) || x != std::floor(x)) fail(field, "index " + std::to_string(x) + " out of range");
      out.push_back(static_cast<uint32_t>(x));
    }
    return out;
  }

 private:
  const std::string& file_;
};

}  // namespace

BoostedTrees BoostedTrees::from_ubjson(std::string_view bytes, const std::string& file) {
  const Value root = Parser(bytes, file).document();
  const Reader r(file);
  BoostedTrees model;

  const Value& learner = r.member(root, "learner", "");
  const std::string objective = r.text(r.member(r.member(learner, "objective", "learner"), "name", "learner.objective"),
                                       "learner.objective.name");
  if (objective != "multi:softprob") r.fail("learner.objective.name", "objective '" + objective + "' is not multi:softprob");
  const Value& param = r.member(learner, "learner_model_param", "learner");
  model.base_score_ = static_cast<float>(r.number_text(r.member(param, "base_score", "learner.learner_model_param"),
                                                       "learner.learner_model_param.base_score"));
  const double n_classes = r.number_text(r.member(param, "num_class", "learner.learner_model_param"),
                                         "learner.learner_model_param.num_class");
  const double n_features = r.number_text(r.member(param, "num_feature", "learner.learner_model_param"),
                                          "learner.learner_model_param.num_feature");
  if (!(n_classes >= 2 && n_classes <= 255 && n_classes == std::floor(n_classes)))
    r.fail("learner.learner_model_param.num_class", "must be an integer in [2, 255]");
  if (!(n_features >= 1 && n_features < 2147483648.0 && n_features == std::floor(n_features)))
    r.fail("learner.learner_model_param.num_feature", "must be a positive integer");
  model.n_classes_ = static_cast<int>(n_classes);
  model.n_features_ = static_cast<size_t>(n_features);

  if (const Value* attributes = r.find(learner, "attributes", "learner"))
    for (const auto& [key, v] : attributes->children)
      model.attributes_.emplace(key, r.text(v, "learner.attributes." + std::string(key)));

  const Value& booster = r.member(learner, "gradient_booster", "learner");
  const std::string booster_name = r.text(r.member(booster, "name", "learner.gradient_booster"), "learner.gradient_booster.name");
  if (booster_name != "gbtree") r.fail("learner.gradient_booster.name", "booster '" + booster_name + "' is not gbtree");
  const std::string path = "learner.gradient_booster.model";
  const Value& trees_model = r.member(booster, "model", "learner.gradient_booster");
  const Value& trees = r.member(trees_model, "trees", path);
  if (trees.type != '[') r.fail(path + ".trees", "not an array");
  const std::vector<uint32_t> classes = r.indices(r.member(trees_model, "tree_info", path), path + ".tree_info", n_classes);
  if (classes.size() != trees.children.size())
    r.fail(path + ".tree_info", std::to_string(classes.size()) + " entries for " + std::to_string(trees.children.size()) + " trees");

  // Room for every node at once: growing the node array tree by tree would copy it a dozen times.
  size_t total_nodes = 0;
  for (const Member& tree : trees.children)
    if (const Value* left = tree.value.type == '{' ? r.find(tree.value, "left_children", path) : nullptr)
      total_nodes += left->type == '$' ? left->count : left->children.size();
  model.nodes_.reserve(total_nodes);
  for (size_t t = 0; t < trees.children.size(); ++t) {
    const Value& tree = trees.children[t].value;
    const std::string at = path + ".trees[" + std::to_string(t) + "]";
    const std::vector<double> left = r.numbers(r.member(tree, "left_children", at), at + ".left_children");
    const std::vector<double> right = r.numbers(r.member(tree, "right_children", at), at + ".right_children");
    const std::vector<double> conditions = r.numbers(r.member(tree, "split_conditions", at), at + ".split_conditions");
    const std::vector<double> default_left = r.numbers(r.member(tree, "default_left", at), at + ".default_left");
    const std::vector<uint32_t> features = r.indices(r.member(tree, "split_indices", at), at + ".split_indices", n_features);
    const size_t n = left.size();
    if (n == 0 || right.size() != n || conditions.size() != n || default_left.size() != n || features.size() != n)
      r.fail(at, "node arrays are empty or of different lengths");
    for (const char* key : {"split_type", "categories"})
      if (const Value* v = r.find(tree, key, at)) {
        const std::vector<double> values = r.numbers(*v, at + "." + key);
        if (std::any_of(values.begin(), values.end(), [](double x) { return x != 0; }))
          r.fail(at + "." + key, "categorical splits are not supported");
      }

    const uint32_t base = static_cast<uint32_t>(model.nodes_.size());
    std::vector<int> depth(n, -1);  // -1: no parent (yet)
    depth[0] = 0;
    int tree_depth = 0;
    for (size_t i = 0; i < n; ++i) {
      auto& node = model.nodes_.emplace_back();
      node.value = static_cast<float>(conditions[i]);
      if (!std::isfinite(node.value))
        r.fail(at + ".split_conditions", "node " + std::to_string(i) + " has a non-finite threshold or leaf value");
      const uint32_t self = base + static_cast<uint32_t>(i);
      if (left[i] == -1) {
        if (right[i] != -1) r.fail(at + ".right_children", "node " + std::to_string(i) + " has a right child but no left one");
        node.feature = 0;
        node.child[0] = node.child[1] = self;
        tree_depth = std::max(tree_depth, depth[i]);
        continue;
      }
      // Children after their parent (as XGBoost numbers them) make every path finite, and one parent per
      // node (a tree, not a graph) gives every node one depth, so `depth` steps reach a leaf from the root.
      for (double child : {left[i], right[i]})
        if (!(child > static_cast<double>(i) && child < static_cast<double>(n)))
          r.fail(at + ".left_children", "node " + std::to_string(i) + " has a child index that does not point forward");
      const auto l = static_cast<size_t>(left[i]), rr = static_cast<size_t>(right[i]);
      for (size_t child : {l, rr}) {
        if (depth[child] >= 0 || l == rr) r.fail(at + ".left_children", "node " + std::to_string(child) + " has two parents");
        depth[child] = depth[i] + 1;
      }
      node.feature = features[i] | (default_left[i] != 0 ? 1u << 31 : 0u);
      node.child[0] = base + static_cast<uint32_t>(l);
      node.child[1] = base + static_cast<uint32_t>(rr);
    }
    if (tree_depth > 255) r.fail(at, "deeper than 255 levels");
    model.roots_.push_back(base);
    model.depths_.push_back(static_cast<uint8_t>(tree_depth));
    model.classes_.push_back(static_cast<uint8_t>(classes[t]));
  }
  return model;
}

namespace {
// One tree step for kLanes rows side by side. kMissing: some row may hold NaN (a missing value), which
// goes the way the node's default says; without, the test is left out of every step.
template <bool kMissing, size_t kLanes, class Node>
[[gnu::always_inline]] inline void walk(const Node* nodes, const float* const (&row)[kLanes], uint32_t (&at)[kLanes], int depth) {
  constexpr uint32_t kMissingLeft = 1u << 31;
  for (int level = 0; level < depth; ++level)
#pragma GCC unroll 8
    for (size_t k = 0; k < kLanes; ++k) {
      const Node& node = nodes[at[k]];
      const float x = row[k][node.feature & ~kMissingLeft];
      // Bitwise, not short-circuit: a split is a coin toss for the branch predictor.
      unsigned go_right = unsigned(x >= node.value);
      if constexpr (kMissing) go_right |= unsigned(x != x) & unsigned((node.feature & kMissingLeft) == 0);
      at[k] = node.child[go_right];
    }
}
}  // namespace

void BoostedTrees::predict_proba(const float* rows, size_t n_rows, float* out) const {
  // Rows in blocks that keep a tree's nodes in L1 while the block goes through it (trees outermost, so
  // each row still adds its leaves in tree order), and in groups of kLanes rows stepped together: a
  // step is a chain of dependent loads, and only independent chains side by side fill the core.
  constexpr size_t kBlock = 64, kLanes = 8;
  const size_t n_classes = static_cast<size_t>(n_classes_);
  std::vector<float> margins(kBlock * n_classes);
  std::vector<uint8_t> group_has_missing((kBlock + kLanes - 1) / kLanes);
  for (size_t first = 0; first < n_rows; first += kBlock) {
    const size_t block = std::min(kBlock, n_rows - first);
    std::fill(margins.begin(), margins.end(), base_score_);
    for (size_t group = 0; group < block; group += kLanes) {
      const float* begin = rows + (first + group) * n_features_;
      const float* end = rows + (first + std::min(group + kLanes, block)) * n_features_;
      group_has_missing[group / kLanes] = std::any_of(begin, end, [](float x) { return x != x; });
    }
    for (size_t t = 0; t < roots_.size(); ++t)
      for (size_t group = 0; group < block; group += kLanes) {
        const float* row[kLanes];
        uint32_t at[kLanes];
        for (size_t k = 0; k < kLanes; ++k) {
          row[k] = rows + (first + std::min(group + k, block - 1)) * n_features_;  // a short group repeats its last row
          at[k] = roots_[t];
        }
        if (group_has_missing[group / kLanes]) walk<true>(nodes_.data(), row, at, depths_[t]);
        else walk<false>(nodes_.data(), row, at, depths_[t]);
        for (size_t k = 0; k < std::min(kLanes, block - group); ++k)
          margins[(group + k) * n_classes + classes_[t]] += nodes_[at[k]].value;
      }
    for (size_t r = 0; r < block; ++r) {
      const float* m = &margins[r * n_classes];
      float* p = out + (first + r) * n_classes;
      const float max = *std::max_element(m, m + n_classes);
      double sum = 0;
      for (size_t c = 0; c < n_classes; ++c) sum += p[c] = std::exp(m[c] - max);
      for (size_t c = 0; c < n_classes; ++c) p[c] /= static_cast<float>(sum);
    }
  }
}

}  // namespace psgkit::detail
