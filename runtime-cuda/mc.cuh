/*
 * mc.cuh: the whole runtime, for generated programs. Each header is one concept with its math in
 * its header comment; every kernel has a CPU implementation (the reference and the CPU backend)
 * and the CUDA path under #ifdef __CUDACC__.
 */
#pragma once
#include "common.cuh"       // defines: bf16, fp16, ld, st, parallel_for, MC_CUDA_CHECK
#include "arena.cuh"        // defines: TensorSpec, arena_create
#include "stream.cuh"       // defines: Streams, Timer, copy_h2d, copy_d2h
#include "safetensors.cuh"  // defines: st_read, load_into, st_write
#include "random.cuh"       // defines: fill_random
#include "gemm.cuh"         // defines: linear, matmul
#include "attention.cuh"    // defines: attention
#include "norms.cuh"        // defines: layernorm, groupnorm
#include "rope.cuh"         // defines: rope
#include "elementwise.cuh"  // defines: binary, unary, modulate, gate, cast
#include "copy.cuh"         // defines: strided_copy
#include "conv3d.cuh"       // defines: conv3d, upsample (nvcc: + conv3d_igemm.cuh, the tensor-core conv)
#include "embed.cuh"        // defines: embedding, timestep_embedding, reduce_axis
#include "weight_stream.cuh"  // defines: WeightStream, ws_forward (weights streamed from pinned host memory)
