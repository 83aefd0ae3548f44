#include "frontend/cuda/export_tables.h"

#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "common/log.h"

namespace gvirtus::cuda {
namespace {

constexpr int kMaxSlots = 16;  // more than any table has (15)

// Sizes and ids measured on the H200 (driver 580.159.04) with tools/trace_libcuda.
constexpr TableSpec kSpecs[kTableCount] = {
    {"logging",
     {0xf8, 0xcf, 0xf9, 0x51, 0x21, 0x46, 0x8b, 0x4e, 0xb9, 0xe2, 0xfb, 0x46, 0x9e, 0x7c, 0x0d,
      0xd9},
     true, 3},
    {"cudart interface",
     {0x6b, 0xd5, 0xfb, 0x6c, 0x5b, 0xf4, 0xe7, 0x4a, 0x89, 0x87, 0xd9, 0x39, 0x12, 0xfd, 0x9d,
      0xf9},
     true, 13},
    {"tools callback hooks",
     {0xa0, 0x94, 0x79, 0x8c, 0x2e, 0x74, 0x2e, 0x74, 0x93, 0xf2, 0x08, 0x00, 0x20, 0x0c, 0x0a,
      0x66},
     true, 7},
    {"tools thread-local state",
     {0x42, 0xd8, 0x5a, 0x81, 0x23, 0xf6, 0xcb, 0x47, 0x82, 0x98, 0xf6, 0xe7, 0x8a, 0x3a, 0xec,
      0xdc},
     true, 3},
    {"context-local storage",
     {0xc6, 0x93, 0x33, 0x6e, 0x11, 0x21, 0xdf, 0x11, 0xa8, 0xc3, 0x68, 0xf3, 0x55, 0xd8, 0x95,
      0x93},
     false, 3},
    {"context checks",
     {0x26, 0x3e, 0x88, 0x60, 0x7c, 0xd2, 0x61, 0x43, 0x92, 0xf6, 0xbb, 0xd5, 0x00, 0x6d, 0xfa,
      0x7e},
     true, 15},
    {"integrity check",
     {0xd4, 0x08, 0x20, 0x55, 0xbd, 0xe6, 0x70, 0x4b, 0x8d, 0x34, 0xba, 0x12, 0x3c, 0x66, 0xe1,
      0xf2},
     true, 3},
};

std::atomic<bool> g_refused_logged[kTableCount][kMaxSlots];

// Any argument list: under the x86-64 and AArch64 C calling conventions a function that reads
// none of its arguments may be called with any.
template <int T, int S>
CUresult refused() {
  if (!g_refused_logged[T][S].exchange(true)) {
    GV_WARN(std::string("cuGetExportTable: slot ") + std::to_string(S) + " of table " +
            uuid_text(kSpecs[T].id) + " (" + kSpecs[T].name +
            ") is not implemented by GVirtuS; answering CUDA_ERROR_NOT_SUPPORTED "
            "(docs/static-cudart.md)");
  }
  return CUDA_ERROR_NOT_SUPPORTED;
}

template <int T, size_t... S>
constexpr std::array<const void*, kMaxSlots> row(std::index_sequence<S...>) {
  return {reinterpret_cast<const void*>(&refused<T, static_cast<int>(S)>)...};
}

template <size_t... T>
const std::array<std::array<const void*, kMaxSlots>, kTableCount>& all_refusals(
    std::index_sequence<T...>) {
  static const std::array<std::array<const void*, kMaxSlots>, kTableCount> a = {
      row<static_cast<int>(T)>(std::make_index_sequence<kMaxSlots>())...};
  return a;
}

}  // namespace

std::string uuid_text(const unsigned char u[16]) {
  char s[40];
  std::snprintf(s, sizeof s,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
                u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
                u[14], u[15]);
  return s;
}

const TableSpec& table_spec(int table) { return kSpecs[table]; }

const void* refusing_slot(int table, int slot) {
  if (table < 0 || table >= kTableCount || slot < 0 || slot >= kMaxSlots) return nullptr;
  return all_refusals(std::make_index_sequence<kTableCount>())[static_cast<size_t>(table)]
                     [static_cast<size_t>(slot)];
}

ExportTables::ExportTables(const std::vector<SlotImpl>& impl) : tables_(kTableCount) {
  for (int t = 0; t < kTableCount; ++t) {
    const TableSpec& s = kSpecs[t];
    auto& words = tables_[static_cast<size_t>(t)];
    words.resize(static_cast<size_t>(s.entries));
    for (int i = 0; i < s.entries; ++i) words[static_cast<size_t>(i)] = refusing_slot(t, i);
    if (s.size_word)
      words[0] = reinterpret_cast<const void*>(static_cast<uintptr_t>(s.entries) * sizeof(void*));
  }
  for (const SlotImpl& i : impl) {
    if (i.table < 0 || i.table >= kTableCount || i.slot < 0 ||
        i.slot >= kSpecs[i.table].entries || (i.slot == 0 && kSpecs[i.table].size_word) || !i.fn)
      throw std::invalid_argument("export table slot out of range");
    tables_[static_cast<size_t>(i.table)][static_cast<size_t>(i.slot)] = i.fn;
  }
}

CUresult ExportTables::get(const void** out, const CUuuid* id) const {
  if (!out || !id) return CUDA_ERROR_INVALID_VALUE;
  const auto* u = reinterpret_cast<const unsigned char*>(id->bytes);
  for (int t = 0; t < kTableCount; ++t) {
    if (std::memcmp(kSpecs[t].id, u, 16) == 0) {
      *out = tables_[static_cast<size_t>(t)].data();
      return CUDA_SUCCESS;
    }
  }
  static std::mutex mu;
  static std::vector<std::string> logged;
  const std::string text = uuid_text(u);
  {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& l : logged)
      if (l == text) return CUDA_ERROR_NOT_SUPPORTED;
    logged.push_back(text);
  }
  GV_WARN("cuGetExportTable: table " + text +
          " is not known to GVirtuS; answering CUDA_ERROR_NOT_SUPPORTED (docs/static-cudart.md)");
  return CUDA_ERROR_NOT_SUPPORTED;
}

CUresult ContextStorage::resolve(CUcontext* ctx) {
  if (*ctx) return CUDA_SUCCESS;
  CUcontext cur = nullptr;
  CUresult r = current_(&cur);
  if (r != CUDA_SUCCESS) return r;
  if (!cur) return CUDA_ERROR_INVALID_CONTEXT;
  *ctx = cur;
  return CUDA_SUCCESS;
}

CUresult ContextStorage::put(CUcontext ctx, void* key, void* value, Destructor dtor) {
  CUresult r = resolve(&ctx);
  if (r != CUDA_SUCCESS) return r;
  std::lock_guard<std::mutex> lock(mu_);
  entries_[{ctx, key}] = Entry{value, dtor};
  return CUDA_SUCCESS;
}

CUresult ContextStorage::remove(CUcontext ctx, void* key) {
  CUresult r = resolve(&ctx);
  if (r != CUDA_SUCCESS) return r;
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.erase({ctx, key}) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

CUresult ContextStorage::get(void** value, CUcontext ctx, void* key) {
  if (!value) return CUDA_ERROR_INVALID_VALUE;
  CUresult r = resolve(&ctx);
  if (r != CUDA_SUCCESS) return r;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find({ctx, key});
  if (it == entries_.end()) return CUDA_ERROR_INVALID_HANDLE;
  *value = it->second.value;
  return CUDA_SUCCESS;
}

void ContextStorage::context_gone(CUcontext ctx) {
  std::vector<std::pair<void*, Entry>> gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->first.first == ctx) {
        gone.emplace_back(it->first.second, it->second);
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& g : gone)
    if (g.second.dtor) g.second.dtor(ctx, g.first, g.second.value);
}

}  // namespace gvirtus::cuda
