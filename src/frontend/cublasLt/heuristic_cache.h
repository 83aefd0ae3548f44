// cublasLtMatmulAlgoGetHeuristic answered by the client when it asked the same question before
// (docs/libraries.md, "cuBLASLt heuristics"). PyTorch creates a matmul descriptor, four layouts
// and a preference for every product, sets their attributes, asks for the heuristic and
// destroys them all: everything but the heuristic goes out without waiting, and the heuristic
// of a product that ran before comes from here.
//
// The key is everything the heuristic reads, as the client knows it exactly: the complete state
// of the six objects (how each was created and every attribute a SetAttribute stored since:
// cuBLASLt checks only an attribute's size at Set time and stores the bytes, so the client's
// copy is the worker's), the handle, the settings cuBLAS keeps in that handle (math mode,
// workspace, SM count target, atomics and emulation settings, recorded by libcublas.so.13), the
// calling thread's current device and the requested count. An object whose state the client
// does not know (created before a session was lost, say), or an unknown current device, is
// never answered from here. Only successful answers are kept, at most kMaxEntries.
#pragma once
#include <cublasLt.h>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace gvirtus::cublasLt {

// The state of each object (after= of the creates, SetAttributes and destroys).
void state_created(const void* object, char kind, const void* args, size_t n);
void state_set(const void* object, int attr, const void* buf, size_t size);
void state_destroyed(const void* object);

void layout_created_state(const cublasLtMatrixLayout_t* layout, cudaDataType type,
                          uint64_t rows, uint64_t cols, int64_t ld);
void matmul_desc_created_state(const cublasLtMatmulDesc_t* desc, cublasComputeType_t compute,
                               cudaDataType_t scale);
void preference_created_state(const cublasLtMatmulPreference_t* pref);

// local= of cublasLtMatmulAlgoGetHeuristic: the kept answer, or nothing (the call is sent).
std::optional<cublasStatus_t> heuristic_recall(
    cublasLtHandle_t handle, cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t a,
    cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
    cublasLtMatmulPreference_t pref, int requested, cublasLtMatmulHeuristicResult_t* results,
    int* returned);
// after= of it: keeps a successful answer.
void heuristic_keep(cublasLtHandle_t handle, cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t a,
                    cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                    cublasLtMatmulPreference_t pref, int requested,
                    const cublasLtMatmulHeuristicResult_t* results, const int* returned);

// Answers kept now (tests).
size_t heuristic_entries();

}  // namespace gvirtus::cublasLt
