// Handle ids: which kind of worker object an id names, and how ids are laid out. Shared by the
// worker (HandleTable, backend/dispatch.h), which issues ids, and the client, which computes the
// id of a create it sends without waiting (docs/protocol.md, "Handles" and "Client-chosen
// handle ids").
#pragma once
#include <cstdint>

namespace gvirtus::wire {

// One kind per type of worker object a client can name. Runtime and driver types that are the
// same object natively share a kind (cudaStream_t and CUstream are both kStream), so a handle
// created through one API is accepted by the other.
enum class HandleKind : uint8_t {
  kStream = 1,
  kEvent = 2,
  kLibrary = 3,    // a module uploaded by the runtime's registration (record of cudart/kernels.cc)
  kKernel = 4,     // a kernel of such a module (record of cudart/kernels.cc)
  kContext = 5,    // CUcontext
  kModule = 6,     // CUmodule
  kFunction = 7,   // CUfunction
  kDrvLibrary = 8, // CUlibrary / cudaLibrary_t loaded explicitly
  kDrvKernel = 9,  // CUkernel / cudaKernel_t of such a library
  kGraph = 10,     // cudaGraph_t / CUgraph
  kGraphExec = 11, // cudaGraphExec_t / CUgraphExec
  kGraphNode = 12, // cudaGraphNode_t / CUgraphNode
  kMemPool = 13,   // cudaMemPool_t / CUmemoryPool
  kArray = 14,     // cudaArray_t / CUarray
  kMipmappedArray = 15,  // cudaMipmappedArray_t / CUmipmappedArray
  kLinkState = 16, // CUlinkState
  kUserObject = 17,      // cudaUserObject_t / CUuserObject
  kOther = 18,     // anything else a plugin needs (say which in its code)
  kMemAllocation = 19,   // CUmemGenericAllocationHandle of cuMemCreate (backend/cuda/vmm.cc)
  // Library plugins' objects (api/<lib>.api `handle ... kind=`): one kind per C type, so an id
  // of one descriptor type is never taken for another.
  kCublasHandle = 32,
  kCublasLtHandle = 33,
  kCublasLtMatmulDesc = 34,
  kCublasLtMatrixLayout = 35,
  kCublasLtMatmulPreference = 36,
  kCublasLtMatrixTransformDesc = 37,
  kCudnnHandle = 40,
  kCudnnTensorDesc = 41,
  kCudnnFilterDesc = 42,
  kCudnnConvolutionDesc = 43,
  kCudnnPoolingDesc = 44,
  kCudnnActivationDesc = 45,
  kCudnnLrnDesc = 46,
  kCudnnOpTensorDesc = 47,
  kCudnnReduceTensorDesc = 48,
  kCudnnDropoutDesc = 49,
  kCudnnRnnDesc = 50,
  kCudnnRnnDataDesc = 51,
  kCudnnSpatialTransformerDesc = 52,
  kCudnnCtcLossDesc = 53,
  kCudnnAttnDesc = 54,
  kCudnnSeqDataDesc = 55,
  kCudnnTensorTransformDesc = 56,
  kCudnnFusedOpsConstParamPack = 57,
  kCudnnFusedOpsVariantParamPack = 58,
  kCudnnFusedOpsPlan = 59,
  kCudnnBackendDesc = 60,
  // 64-127: the libraries of issue "Library plugins II" (cuFFT, cuRAND, cuSPARSE, cuSOLVER,
  // NVML).
  kCurandGenerator = 64,      // curandCreateGenerator: generates into device memory
  kCurandHostGenerator = 65,  // curandCreateGeneratorHost: its output travels back to the client
  // cuSPARSE (api/cusparse.api): a Const descriptor type shares its non-const type's kind.
  kCusparseHandle = 66,        // cusparseHandle_t
  kCusparseMatDescr = 67,      // cusparseMatDescr_t (legacy API)
  kCusparseSpVecDescr = 68,    // cusparse(Const)SpVecDescr_t
  kCusparseDnVecDescr = 69,    // cusparse(Const)DnVecDescr_t
  kCusparseSpMatDescr = 70,    // cusparse(Const)SpMatDescr_t
  kCusparseDnMatDescr = 71,    // cusparse(Const)DnMatDescr_t
  kCusparseSpSVDescr = 72,     // cusparseSpSVDescr_t
  kCusparseSpSMDescr = 73,     // cusparseSpSMDescr_t
  kCusparseSpGEMMDescr = 74,   // cusparseSpGEMMDescr_t
  kCusparseBsrsv2Info = 75,    // bsrsv2Info_t (legacy API)
  kCusparseBsrsm2Info = 76,    // bsrsm2Info_t (legacy API)
  kCusparseCsric02Info = 77,   // csric02Info_t (legacy API)
  kCusparseCsrilu02Info = 78,  // csrilu02Info_t (legacy API)
  kCusparseBsrilu02Info = 79,  // bsrilu02Info_t (legacy API)
  // 80-95: cuSOLVER (api/cusolver.api), one kind per object type.
  kCusolverDnHandle = 80,     // cusolverDnHandle_t
  kCusolverDnParams = 81,     // cusolverDnParams_t (the 64-bit API's options)
  kCusolverSyevjInfo = 82,    // syevjInfo_t
  kCusolverGesvdjInfo = 83,   // gesvdjInfo_t
  kCusolverIRSParams = 84,    // cusolverDnIRSParams_t
  kCusolverIRSInfos = 85,     // cusolverDnIRSInfos_t
  kCusolverSpHandle = 86,     // cusolverSpHandle_t
  kCusolverCsrqrInfo = 87,    // csrqrInfo_t
  kCusolverCsrcholInfo = 88,  // csrcholInfo_t
  kCusolverRfHandle = 89,     // cusolverRfHandle_t
  // 96-111: NVML (api/nvml.api).
  kNvmlDevice = 96,  // nvmlDevice_t: a GPU (or MIG device) of the worker's NVML
  kNvmlUnit = 97,    // nvmlUnit_t: an S-class unit of the worker's NVML
  kNvmlEventSet = 98,  // nvmlEventSet_t: an event set the worker's NVML created
};

// Id layout: kind in the top byte; below it either a serial number the worker issued (bit 55
// clear: serials stay below 2^55) or, with bit 55 set, the ticket of the create request whose
// object it names (a client-chosen id). Zero is never an id.
constexpr uint64_t kClientIdBit = uint64_t{1} << 55;
constexpr uint64_t kIdSerialMask = (uint64_t{1} << 56) - 1;
inline HandleKind handle_kind_of(uint64_t id) { return static_cast<HandleKind>(id >> 56); }
inline bool is_client_id(uint64_t id) { return (id & kClientIdBit) != 0; }
// The id a create request with this ticket names its object by, when the client chose it; 0
// for a ticket that cannot name one (0, or one that does not fit below bit 55).
inline uint64_t client_id(HandleKind kind, uint64_t ticket) {
  if (ticket == 0 || ticket >= kClientIdBit) return 0;
  return uint64_t{static_cast<uint8_t>(kind)} << 56 | kClientIdBit | ticket;
}
// The ticket part of a client-chosen id.
inline uint64_t client_id_ticket(uint64_t id) { return id & (kClientIdBit - 1); }

}  // namespace gvirtus::wire
