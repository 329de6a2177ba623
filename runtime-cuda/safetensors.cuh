/*
 * safetensors.cuh: reading and writing safetensors files on the host. Layout: u64 little-endian
 * header length N, N bytes of JSON {"name": {"dtype": "BF16", "shape": [..], "data_offsets": [b, e]}},
 * then the data. The reader parses only that grammar (objects, strings, integer arrays; other
 * values are skipped), validates dtype, byte count and range of every entry, and fails with one
 * line naming the file and the tensor. `load_into` converts between storage dtypes (a BF16 file
 * into an fp32 program is exact; the reverse rounds to nearest even) and copies into the arena.
 */
#pragma once
#include <string>      // defines: std::string
#include <vector>      // defines: std::vector
#include "common.cuh"  // defines: bf16, fp16, ld, st
#include "stream.cuh"  // defines: copy_h2d, host_alloc

namespace mc {

enum DType { DT_BF16 = 0, DT_F16 = 1, DT_F32 = 2, DT_I32 = 3, DT_I64 = 4, DT_BOOL = 5 };
inline const char* dtype_name(int d) { static const char* n[] = {"BF16", "F16", "F32", "I32", "I64", "BOOL"}; return n[d]; }
inline size_t dtype_size(int d) { static const size_t s[] = {2, 2, 4, 4, 8, 1}; return s[d]; }

struct StEntry {
  std::string name;
  int dtype = -1;
  std::vector<int64_t> shape;
  size_t begin = 0, end = 0;
};

struct StFile {
  std::string path;
  std::vector<StEntry> entries;
  std::vector<char> data;  // everything after the header
  const StEntry* find(const char* name) const {
    for (const StEntry& e : entries) if (e.name == name) return &e;
    return nullptr;
  }
};

[[noreturn]] inline void st_fail(const std::string& path, const std::string& msg) {
  fprintf(stderr, "error: %s: %s\n", path.c_str(), msg.c_str());
  exit(1);
}

struct JsonCursor {
  const std::string& s;
  size_t i = 0;
  const std::string& path;
  void ws() { while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) i++; }
  void expect(char c) { ws(); if (i >= s.size() || s[i] != c) st_fail(path, std::string("malformed header JSON: expected '") + c + "'"); i++; }
  bool peek(char c) { ws(); return i < s.size() && s[i] == c; }
  std::string str() {
    expect('"');
    std::string out;
    while (i < s.size() && s[i] != '"') {
      if (s[i] == '\\' && i + 1 < s.size()) { i++; out += s[i] == 'n' ? '\n' : s[i]; i++; continue; }
      out += s[i++];
    }
    expect('"');
    return out;
  }
  int64_t integer() {
    ws();
    size_t j = i;
    while (j < s.size() && (isdigit((unsigned char)s[j]) || s[j] == '-')) j++;
    if (j == i) st_fail(path, "malformed header JSON: expected an integer");
    int64_t v = std::stoll(s.substr(i, j - i));
    i = j;
    return v;
  }
  std::vector<int64_t> ints() {
    std::vector<int64_t> v;
    expect('[');
    if (peek(']')) { i++; return v; }
    for (;;) { v.push_back(integer()); if (peek(',')) { i++; continue; } expect(']'); return v; }
  }
  void skip() {  // any JSON value
    ws();
    if (peek('"')) { str(); return; }
    if (peek('{') || peek('[')) {
      char open = s[i], close = open == '{' ? '}' : ']';
      i++;
      if (peek(close)) { i++; return; }
      for (;;) { if (open == '{') { str(); expect(':'); } skip(); if (peek(',')) { i++; continue; } expect(close); return; }
    }
    while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']') i++;
  }
};

inline StFile st_read(const char* path) {
  StFile f;
  f.path = path;
  FILE* fp = fopen(path, "rb");
  if (!fp) st_fail(path, "cannot open the file");
  uint64_t n = 0;
  if (fread(&n, 8, 1, fp) != 1) st_fail(path, "not a safetensors file (shorter than 8 bytes)");
  fseek(fp, 0, SEEK_END);
  long size = ftell(fp);
  if (n > (uint64_t)size - 8) st_fail(path, "header length exceeds the file size");
  std::string header(n, ' ');
  fseek(fp, 8, SEEK_SET);
  if (n && fread(&header[0], 1, n, fp) != n) st_fail(path, "cannot read the header");
  f.data.resize((size_t)size - 8 - n);
  if (!f.data.empty() && fread(f.data.data(), 1, f.data.size(), fp) != f.data.size()) st_fail(path, "cannot read the data");
  fclose(fp);
  JsonCursor c{header, 0, f.path};
  c.expect('{');
  if (c.peek('}')) return f;
  for (;;) {
    std::string name = c.str();
    c.expect(':');
    if (name == "__metadata__") { c.skip(); }
    else {
      StEntry e;
      e.name = name;
      c.expect('{');
      for (;;) {
        std::string key = c.str();
        c.expect(':');
        if (key == "dtype") {
          std::string d = c.str();
          for (int k = 0; k < 6; k++) if (d == dtype_name(k)) e.dtype = k;
          if (e.dtype < 0) st_fail(path, "tensor '" + name + "': dtype " + d + " is not one of BF16, F16, F32, I32, I64, BOOL");
        } else if (key == "shape") e.shape = c.ints();
        else if (key == "data_offsets") {
          std::vector<int64_t> o = c.ints();
          if (o.size() != 2 || o[0] < 0 || o[1] < o[0]) st_fail(path, "tensor '" + name + "': data_offsets must be [begin, end]");
          e.begin = (size_t)o[0]; e.end = (size_t)o[1];
        } else c.skip();
        if (c.peek(',')) { c.i++; continue; }
        c.expect('}');
        break;
      }
      if (e.dtype < 0) st_fail(path, "tensor '" + name + "': no dtype");
      size_t numel = 1;
      for (int64_t d : e.shape) { if (d < 0) st_fail(path, "tensor '" + name + "': negative dimension"); numel *= (size_t)d; }
      if (e.end - e.begin != numel * dtype_size(e.dtype)) st_fail(path, "tensor '" + name + "': data_offsets do not match dtype and shape");
      if (e.end > f.data.size()) st_fail(path, "tensor '" + name + "': data_offsets run past the end of the file");
      f.entries.push_back(e);
    }
    if (c.peek(',')) { c.i++; continue; }
    c.expect('}');
    break;
  }
  return f;
}

template <class S, class D>
inline void convert_n(const S* s, D* d, size_t n) { for (size_t i = 0; i < n; i++) st(d[i], ld(s[i])); }

template <class D>
inline void convert_from(int sdt, const void* s, D* d, size_t n) {
  switch (sdt) {
    case DT_BF16: convert_n((const bf16*)s, d, n); break;
    case DT_F16: convert_n((const fp16*)s, d, n); break;
    case DT_F32: convert_n((const float*)s, d, n); break;
    case DT_I32: convert_n((const int32_t*)s, d, n); break;
    case DT_I64: convert_n((const int64_t*)s, d, n); break;
    default: convert_n((const uint8_t*)s, d, n); break;
  }
}

/**
 * Copies tensor `name` (shape `shape[rank]`) from the file into `dst` (storage dtype `ddt`), through
 * a host staging buffer: validates that it exists and has the expected shape.
 */
inline void load_into(const StFile& f, const char* name, int ddt, const int64_t* shape, int rank, void* dst, Stream s) {
  const StEntry* e = f.find(name);
  if (!e) st_fail(f.path, std::string("has no tensor '") + name + "'");
  bool same = (int)e->shape.size() == rank;
  for (int i = 0; same && i < rank; i++) same = e->shape[i] == shape[i];
  if (!same) {
    std::string want, got;
    for (int i = 0; i < rank; i++) want += (i ? ", " : "") + std::to_string(shape[i]);
    for (size_t i = 0; i < e->shape.size(); i++) got += (i ? ", " : "") + std::to_string(e->shape[i]);
    st_fail(f.path, std::string("tensor '") + name + "' has shape [" + got + "], the program expects [" + want + "]");
  }
  size_t n = 1;
  for (int i = 0; i < rank; i++) n *= (size_t)shape[i];
  const char* src = f.data.data() + e->begin;
  size_t bytes = n * dtype_size(ddt);
  void* stage = host_alloc(bytes);
  if (e->dtype == ddt) memcpy(stage, src, bytes);
  else switch (ddt) {
    case DT_BF16: convert_from(e->dtype, src, (bf16*)stage, n); break;
    case DT_F16: convert_from(e->dtype, src, (fp16*)stage, n); break;
    case DT_F32: convert_from(e->dtype, src, (float*)stage, n); break;
    case DT_I32: convert_from(e->dtype, src, (int32_t*)stage, n); break;
    case DT_I64: convert_from(e->dtype, src, (int64_t*)stage, n); break;
    default: convert_from(e->dtype, src, (uint8_t*)stage, n); break;
  }
  copy_h2d(dst, stage, bytes, s);
  stream_sync(s);  // the staging buffer is reused by the next call
  host_free(stage);
}

struct StOut {
  std::string name;
  int dtype;
  std::vector<int64_t> shape;
  std::vector<char> bytes;
};

inline void st_write(const char* path, const std::vector<StOut>& ts) {
  std::string h = "{";
  size_t at = 0;
  for (size_t k = 0; k < ts.size(); k++) {
    const StOut& t = ts[k];
    h += (k ? "," : "") + std::string("\"") + t.name + "\":{\"dtype\":\"" + dtype_name(t.dtype) + "\",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); i++) h += (i ? "," : "") + std::to_string(t.shape[i]);
    h += "],\"data_offsets\":[" + std::to_string(at) + "," + std::to_string(at + t.bytes.size()) + "]}";
    at += t.bytes.size();
  }
  h += "}";
  while ((8 + h.size()) % 8) h += ' ';
  FILE* fp = fopen(path, "wb");
  if (!fp) st_fail(path, "cannot open for writing");
  uint64_t n = h.size();
  fwrite(&n, 8, 1, fp);
  fwrite(h.data(), 1, h.size(), fp);
  for (const StOut& t : ts) fwrite(t.bytes.data(), 1, t.bytes.size(), fp);
  fclose(fp);
}

}  // namespace mc
