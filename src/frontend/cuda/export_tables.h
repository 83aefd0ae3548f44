// The driver's private tables (cuGetExportTable): what NVIDIA's static CUDA runtime, linked
// into a program built with plain nvcc, asks libcuda.so.1 for besides the public functions.
// Each table is a 16-byte id and an array of words: most start with their own size in bytes,
// then function pointers ("slots"); docs/static-cudart.md lists the tables and slots CUDA 13.0's
// runtime uses, as measured with tools/trace_libcuda.
//
// This file is the host-only part: the table layouts, building them from the slots a caller
// implements, the answer for an id (unknown ids refused, naming the id), the refusal every
// unimplemented slot gives (it logs table and slot once and answers CUDA_ERROR_NOT_SUPPORTED),
// and the context-local storage the runtime keeps its per-context state in. The slots that
// need the driver are in export_slots.cc (libcuda.so.1).
#pragma once
#include <cuda.h>

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace gvirtus::cuda {

std::string uuid_text(const unsigned char id[16]);

struct TableSpec {
  const char* name;
  unsigned char id[16];
  bool size_word;  // word 0 is the table's size in bytes (all but context-local storage)
  int entries;     // words, the size word included: the driver's own count (CUDA 13, 580)
};

// The tables CUDA 13.0's static runtime asks for (docs/static-cudart.md); index = TableId.
enum TableId : int {
  kLogging = 0,        // f8cff951-...: the runtime's error messages, for cuLogs*
  kCudartInterface,    // 6bd5fb6c-...: primary context, modules from fatbins
  kToolsHooks,         // a094798c-...: tools callback flags
  kToolsTls,           // 42d85a81-...: tools thread-local state (asked for, never called)
  kContextStorage,     // c693336e-...: context-local storage (no size word)
  kContextChecks,      // 263e8860-...: context flags
  kIntegrity,          // d4082055-...: the digest check (export_hash.h)
  kTableCount
};
const TableSpec& table_spec(int table);

// Slot s of table t, as a function address.
struct SlotImpl {
  int table;
  int slot;
  const void* fn;
};

class ExportTables {
 public:
  // Builds every table of table_spec(); slots not in `impl` get the refusing stub. A slot in
  // `impl` that is outside its table, or the size word, throws std::invalid_argument.
  explicit ExportTables(const std::vector<SlotImpl>& impl);
  // cuGetExportTable: NULL arguments -> CUDA_ERROR_INVALID_VALUE; an unknown id ->
  // CUDA_ERROR_NOT_SUPPORTED (logged once per id, naming it); else the table, whose address
  // stays the same for the life of the process (the integrity digest hashes it).
  CUresult get(const void** out, const CUuuid* id) const;
  const void* const* table(int t) const { return tables_[static_cast<size_t>(t)].data(); }

 private:
  std::vector<std::vector<const void*>> tables_;
};

// The refusing stub of table t, slot s (for tests: what an unimplemented slot holds).
const void* refusing_slot(int table, int slot);

// Context-local storage (table c693336e): per context, values under the runtime's keys, and the
// function to call with (context, key, value) when the context is destroyed or reset. A NULL
// context means the calling thread's current one. Answers as the driver does (measured): no
// current context -> CUDA_ERROR_INVALID_CONTEXT; no value under the key ->
// CUDA_ERROR_INVALID_HANDLE.
class ContextStorage {
 public:
  using Destructor = void (*)(CUcontext, void*, void*);
  using Current = std::function<CUresult(CUcontext*)>;
  explicit ContextStorage(Current current) : current_(std::move(current)) {}
  CUresult put(CUcontext ctx, void* key, void* value, Destructor dtor);
  CUresult remove(CUcontext ctx, void* key);
  CUresult get(void** value, CUcontext ctx, void* key);
  // The context is gone (destroyed, or its device's primary context reset): its destructors
  // run, outside the lock, and its values are forgotten.
  void context_gone(CUcontext ctx);

 private:
  CUresult resolve(CUcontext* ctx);
  struct Entry {
    void* value;
    Destructor dtor;
  };
  Current current_;
  std::mutex mu_;
  std::map<std::pair<CUcontext, void*>, Entry> entries_;
};

}  // namespace gvirtus::cuda
