"""The tensors and parameter keys of TensorRT-LLM's Triton model repository templates.

Transcribed from NVIDIA/TensorRT-LLM ``triton_backend/all_models/inflight_batcher_llm/
{preprocessing,tensorrt_llm,postprocessing,ensemble,tensorrt_llm_bls}/config.pbtxt`` and
``triton_backend/all_models/llmapi/tensorrt_llm/config.pbtxt`` (the 1.x series; the
same files lived in triton-inference-server/tensorrtllm_backend ``all_models/`` before).
The Python models (``1/model.py``) of those folders read these tensors by name, so the
generated configs keep every one of them, multimodal ones included; the ensemble below
drops only the template's duplicated ``kv_cache_alloc_total_blocks`` output.

One tensor per line: ``name TYPE dims [optional] [ragged] [reshape]``; ``$logits``,
``$encoder`` and ``$prompt_table`` stand for the template's data-type variables.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tensor:
    name: str
    data_type: str  # TYPE_* without the prefix, or a $variable
    dims: tuple[int, ...]
    optional: bool = False
    ragged: bool = False  # allow_ragged_batch
    reshape: bool = False  # reshape: { shape: [ ] }


def _tensors(spec: str) -> tuple[Tensor, ...]:
    out = []
    for line in spec.strip().splitlines():
        if not line.strip():
            continue
        name, data_type, dims, *flags = line.split()
        out.append(
            Tensor(
                name=name,
                data_type=data_type,
                dims=tuple(int(d) for d in dims.strip("[]").split(",")),
                optional="optional" in flags,
                ragged="ragged" in flags,
                reshape="reshape" in flags,
            )
        )
    return tuple(out)


TENSORRT_LLM_INPUTS = _tensors("""
input_ids INT32 [-1] optional ragged
encoder_input_features $encoder [-1,-1] optional ragged
encoder_output_lengths INT32 [1] optional reshape
input_lengths INT32 [1] reshape
request_output_len INT32 [1] reshape
num_return_sequences INT32 [1] optional reshape
draft_input_ids INT32 [-1] optional ragged
decoder_input_ids INT32 [-1] optional ragged
decoder_input_lengths INT32 [1] optional reshape
draft_logits $logits [-1,-1] optional ragged
draft_acceptance_threshold FP32 [1] optional reshape
end_id INT32 [1] optional reshape
pad_id INT32 [1] optional reshape
stop_words_list INT32 [2,-1] optional ragged
bad_words_list INT32 [2,-1] optional ragged
embedding_bias FP32 [-1] optional ragged
beam_width INT32 [1] optional reshape
temperature FP32 [1] optional reshape
runtime_top_k INT32 [1] optional reshape
runtime_top_p FP32 [1] optional reshape
runtime_top_p_min FP32 [1] optional reshape
runtime_top_p_decay FP32 [1] optional reshape
runtime_top_p_reset_ids INT32 [1] optional reshape
len_penalty FP32 [1] optional reshape
early_stopping BOOL [1] optional reshape
repetition_penalty FP32 [1] optional reshape
min_tokens INT32 [1] optional reshape
beam_search_diversity_rate FP32 [1] optional reshape
presence_penalty FP32 [1] optional reshape
frequency_penalty FP32 [1] optional reshape
seed UINT64 [1] optional reshape
return_log_probs BOOL [1] optional reshape
return_context_logits BOOL [1] optional reshape
return_generation_logits BOOL [1] optional reshape
return_perf_metrics BOOL [1] optional reshape
return_num_input_tokens BOOL [1] optional reshape
return_num_output_tokens BOOL [1] optional reshape
exclude_input_in_output BOOL [1] optional reshape
stop BOOL [1] optional reshape
streaming BOOL [1] optional reshape
prompt_embedding_table $prompt_table [-1,-1] optional ragged
prompt_table_extra_ids UINT64 [-1] optional ragged
prompt_vocab_size INT32 [1] optional reshape
cross_attention_mask BOOL [-1,-1] optional ragged
mrope_rotary_cos_sin FP32 [-1] optional
mrope_position_deltas INT64 [1] optional
lora_task_id UINT64 [1] optional reshape
lora_weights FP16 [-1,-1] optional ragged
lora_config INT32 [-1,3] optional ragged
context_phase_params UINT8 [-1] optional ragged
skip_cross_attn_blocks BOOL [1] optional ragged
retention_token_range_starts INT32 [-1] optional ragged
retention_token_range_ends INT32 [-1] optional ragged
retention_token_range_priorities INT32 [-1] optional ragged
retention_token_range_durations_ms INT32 [-1] optional ragged
retention_decode_priority INT32 [1] optional ragged
retention_decode_duration_ms INT32 [1] optional ragged
guided_decoding_guide_type STRING [1] optional ragged
guided_decoding_guide STRING [1] optional ragged
lookahead_window_size INT32 [1] optional ragged
lookahead_ngram_size INT32 [1] optional ragged
lookahead_verification_set_size INT32 [1] optional ragged
""")

# Outputs the tensorrt_llm model, the ensemble and the BLS model share, after the ids.
_RESPONSE_OUTPUTS = """
cum_log_probs FP32 [-1]
output_log_probs FP32 [-1,-1]
context_logits $logits [-1,-1]
generation_logits $logits [-1,-1,-1]
batch_index INT32 [1]
sequence_index INT32 [1]
kv_cache_alloc_new_blocks INT32 [1]
kv_cache_reused_blocks INT32 [1]
kv_cache_alloc_total_blocks INT32 [1]
arrival_time_ns INT64 [1]
first_scheduled_time_ns INT64 [1]
first_token_time_ns INT64 [1]
last_token_time_ns INT64 [1]
acceptance_rate FP32 [1]
total_accepted_draft_tokens INT32 [1]
total_draft_tokens INT32 [1]
num_input_tokens INT32 [1]
num_output_tokens INT32 [1]
"""

TENSORRT_LLM_OUTPUTS = _tensors(
    """
output_ids INT32 [-1,-1]
sequence_length INT32 [-1]
context_phase_params UINT8 [-1]
"""
    + _RESPONSE_OUTPUTS
)

PREPROCESSING_INPUTS = _tensors("""
QUERY STRING [1]
DECODER_QUERY STRING [1] optional
IMAGE_BYTES UINT8 [-1,-1,-1,-1] optional
IMAGE_URL STRING [1] optional
IMAGES STRING [-1] optional
VIDEO_BYTES UINT8 [-1,-1,-1,-1] optional
REQUEST_OUTPUT_LEN INT32 [1]
BAD_WORDS_DICT STRING [-1] optional
STOP_WORDS_DICT STRING [-1] optional
EMBEDDING_BIAS_WORDS STRING [-1] optional
EMBEDDING_BIAS_WEIGHTS FP32 [-1] optional
END_ID INT32 [1] optional
PAD_ID INT32 [1] optional
PROMPT_TABLE_EXTRA_ID UINT64 [1] optional
""")

PREPROCESSING_OUTPUTS = _tensors("""
INPUT_ID INT32 [-1]
REQUEST_INPUT_LEN INT32 [1]
DECODER_INPUT_ID INT32 [-1]
REQUEST_DECODER_INPUT_LEN INT32 [1]
BAD_WORDS_IDS INT32 [2,-1]
STOP_WORDS_IDS INT32 [2,-1]
EMBEDDING_BIAS FP32 [-1]
REQUEST_OUTPUT_LEN INT32 [-1]
OUT_END_ID INT32 [1]
OUT_PAD_ID INT32 [1]
OUT_PROMPT_TABLE_EXTRA_IDS UINT64 [-1]
PIXEL_VALUES FP16 [-1,-1,-1,-1]
ASPECT_RATIO_IDS INT64 [-1]
ASPECT_RATIO_MASK INT64 [-1,-1]
CROSS_ATTENTION_MASK INT64 [-1,-1,-1]
IMAGE_SIZES INT64 [-1,2]
IS_VIDEO_INPUT BOOL [1]
ATTENTION_MASK INT64 [-1]
IMAGE_GRID_THW INT64 [3]
VISION_INPUT_ID INT32 [-1]
""")

POSTPROCESSING_INPUTS = _tensors("""
TOKENS_BATCH INT32 [-1,-1]
SEQUENCE_LENGTH INT32 [-1]
""")

POSTPROCESSING_OUTPUTS = _tensors("""
OUTPUT STRING [-1]
""")

# The request tensors the ensemble and the BLS model both take.
_TEXT_REQUEST = """
text_input STRING [1]
decoder_text_input STRING [1] optional
max_tokens INT32 [1]
bad_words STRING [-1] optional
stop_words STRING [-1] optional
exclude_input_in_output BOOL [1] optional
end_id INT32 [1] optional
pad_id INT32 [1] optional
top_k INT32 [1] optional
top_p FP32 [1] optional
temperature FP32 [1] optional
length_penalty FP32 [1] optional
repetition_penalty FP32 [1] optional
min_tokens INT32 [1] optional
presence_penalty FP32 [1] optional
frequency_penalty FP32 [1] optional
seed UINT64 [1] optional
"""

ENSEMBLE_INPUTS = _tensors(
    _TEXT_REQUEST
    + """
num_return_sequences INT32 [1] optional
return_log_probs BOOL [1] optional
return_context_logits BOOL [1] optional
return_generation_logits BOOL [1] optional
return_perf_metrics BOOL [1] optional
return_num_input_tokens BOOL [1] optional
return_num_output_tokens BOOL [1] optional
beam_width INT32 [1] optional
stream BOOL [1] optional
prompt_embedding_table FP16 [-1,-1] optional
prompt_table_extra_id UINT64 [1] optional
prompt_vocab_size INT32 [1] optional
embedding_bias_words STRING [-1] optional
embedding_bias_weights FP32 [-1] optional
lora_task_id UINT64 [1] optional
lora_weights FP16 [-1,-1] optional ragged
lora_config INT32 [-1,3] optional ragged
guided_decoding_guide_type STRING [1] optional ragged
guided_decoding_guide STRING [1] optional ragged
"""
)

ENSEMBLE_OUTPUTS = _tensors("text_output STRING [-1]\n" + _RESPONSE_OUTPUTS)

BLS_INPUTS = _tensors(
    _TEXT_REQUEST
    + """
image_input FP16 [-1,3,-1,-1] optional
image_bytes_input UINT8 [-1,-1,-1,-1] optional
image_url_input STRING [1] optional
video_bytes_input UINT8 [-1,-1,-1,-1] optional
return_log_probs BOOL [1] optional reshape
return_context_logits BOOL [1] optional reshape
return_generation_logits BOOL [1] optional reshape
num_return_sequences INT32 [1] optional reshape
beam_width INT32 [1] optional
stream BOOL [1] optional
prompt_embedding_table FP16 [-1,-1] optional
prompt_vocab_size INT32 [1] optional
prompt_table_extra_id UINT64 [1] optional
embedding_bias_words STRING [-1] optional
embedding_bias_weights FP32 [-1] optional
num_draft_tokens INT32 [1] optional
use_draft_logits BOOL [1] optional reshape
lora_task_id UINT64 [1] optional reshape
lora_weights FP16 [-1,-1] optional ragged
lora_config INT32 [-1,3] optional ragged
return_perf_metrics BOOL [1] optional reshape
return_num_input_tokens BOOL [1] optional reshape
return_num_output_tokens BOOL [1] optional reshape
guided_decoding_guide_type STRING [1] optional
guided_decoding_guide STRING [1] optional
"""
)

BLS_OUTPUTS = ENSEMBLE_OUTPUTS

# The ensemble's three steps: (model, {model input: ensemble tensor}, {model output: tensor}).
ENSEMBLE_STEPS: tuple[tuple[str, dict[str, str], dict[str, str]], ...] = (
    (
        "preprocessing",
        {
            "QUERY": "text_input",
            "DECODER_QUERY": "decoder_text_input",
            "REQUEST_OUTPUT_LEN": "max_tokens",
            "BAD_WORDS_DICT": "bad_words",
            "STOP_WORDS_DICT": "stop_words",
            "EMBEDDING_BIAS_WORDS": "embedding_bias_words",
            "EMBEDDING_BIAS_WEIGHTS": "embedding_bias_weights",
            "END_ID": "end_id",
            "PAD_ID": "pad_id",
            "PROMPT_TABLE_EXTRA_ID": "prompt_table_extra_id",
        },
        {
            "REQUEST_INPUT_LEN": "_REQUEST_INPUT_LEN",
            "INPUT_ID": "_INPUT_ID",
            "REQUEST_DECODER_INPUT_LEN": "_REQUEST_DECODER_INPUT_LEN",
            "DECODER_INPUT_ID": "_DECODER_INPUT_ID",
            "REQUEST_OUTPUT_LEN": "_REQUEST_OUTPUT_LEN",
            "STOP_WORDS_IDS": "_STOP_WORDS_IDS",
            "BAD_WORDS_IDS": "_BAD_WORDS_IDS",
            "EMBEDDING_BIAS": "_EMBEDDING_BIAS",
            "OUT_END_ID": "_PREPROCESSOR_END_ID",
            "OUT_PAD_ID": "_PREPROCESSOR_PAD_ID",
            "OUT_PROMPT_TABLE_EXTRA_IDS": "_OUT_PROMPT_TABLE_EXTRA_IDS",
        },
    ),
    (
        "tensorrt_llm",
        {
            "input_ids": "_INPUT_ID",
            "decoder_input_ids": "_DECODER_INPUT_ID",
            "input_lengths": "_REQUEST_INPUT_LEN",
            "decoder_input_lengths": "_REQUEST_DECODER_INPUT_LEN",
            "exclude_input_in_output": "exclude_input_in_output",
            "request_output_len": "_REQUEST_OUTPUT_LEN",
            "end_id": "_PREPROCESSOR_END_ID",
            "pad_id": "_PREPROCESSOR_PAD_ID",
            "embedding_bias": "_EMBEDDING_BIAS",
            "runtime_top_k": "top_k",
            "runtime_top_p": "top_p",
            "temperature": "temperature",
            "len_penalty": "length_penalty",
            "repetition_penalty": "repetition_penalty",
            "min_tokens": "min_tokens",
            "presence_penalty": "presence_penalty",
            "frequency_penalty": "frequency_penalty",
            "seed": "seed",
            "return_log_probs": "return_log_probs",
            "return_context_logits": "return_context_logits",
            "return_generation_logits": "return_generation_logits",
            "return_perf_metrics": "return_perf_metrics",
            "return_num_input_tokens": "return_num_input_tokens",
            "return_num_output_tokens": "return_num_output_tokens",
            "num_return_sequences": "num_return_sequences",
            "beam_width": "beam_width",
            "streaming": "stream",
            "prompt_embedding_table": "prompt_embedding_table",
            "prompt_vocab_size": "prompt_vocab_size",
            "stop_words_list": "_STOP_WORDS_IDS",
            "bad_words_list": "_BAD_WORDS_IDS",
            "prompt_table_extra_ids": "_OUT_PROMPT_TABLE_EXTRA_IDS",
            "lora_task_id": "lora_task_id",
            "lora_weights": "lora_weights",
            "lora_config": "lora_config",
            "guided_decoding_guide_type": "guided_decoding_guide_type",
            "guided_decoding_guide": "guided_decoding_guide",
        },
        {
            "output_ids": "_TOKENS_BATCH",
            "sequence_length": "_SEQUENCE_LENGTH",
            **{t.name: t.name for t in ENSEMBLE_OUTPUTS if t.name != "text_output"},
        },
    ),
    (
        "postprocessing",
        {"TOKENS_BATCH": "_TOKENS_BATCH", "SEQUENCE_LENGTH": "_SEQUENCE_LENGTH"},
        {"OUTPUT": "text_output"},
    ),
)

LLMAPI_INPUTS = _tensors("""
text_input STRING [-1]
image_url STRING [-1] optional
streaming BOOL [1] optional
sampling_param_best_of INT32 [1] optional
sampling_param_temperature FP32 [1] optional
sampling_param_top_k INT32 [1] optional
sampling_param_top_p FP32 [1] optional
sampling_param_frequency_penalty FP32 [1] optional
sampling_param_presence_penalty FP32 [1] optional
sampling_param_max_tokens INT32 [1] optional
sampling_param_stop STRING [-1] optional
sampling_param_seed UINT64 [1] optional
sampling_param_exclude_input_from_output BOOL [1] optional
sampling_param_return_perf_metrics BOOL [1] optional
return_finish_reason BOOL [1] optional
return_stop_reason BOOL [1] optional
return_cumulative_logprob BOOL [1] optional
stop BOOL [1] optional
lora_id UINT64 [1] optional
lora_name STRING [1] optional
lora_path STRING [1] optional
lora_ckpt_source STRING [1] optional
""")

LLMAPI_OUTPUTS = _tensors("""
text_output STRING [-1]
finish_reason STRING [-1]
stop_reason STRING [-1]
cumulative_logprob FP32 [-1]
kv_cache_reused_block INT32 [-1]
kv_cache_missed_block INT32 [-1]
kv_cache_alloc_new_blocks INT32 [-1]
kv_cache_alloc_total_blocks INT32 [-1]
kv_cache_hit_rate FP32 [-1]
arrival_time_ns INT64 [1]
first_scheduled_time_ns INT64 [1]
first_token_time_ns INT64 [1]
last_token_time_ns INT64 [1]
acceptance_rate FP32 [1]
total_accepted_draft_tokens INT32 [1]
total_draft_tokens INT32 [1]
""")


def _keys(text: str) -> frozenset[str]:
    return frozenset(text.split())


# parameters { key } of each official template; the generated configs use only these.
OFFICIAL_PARAMETER_KEYS: dict[str, frozenset[str]] = {
    "tensorrt_llm": _keys(
        """max_beam_width FORCE_CPU_ONLY_INPUT_TENSORS gpt_model_type gpt_model_path
        encoder_model_path max_tokens_in_paged_kv_cache max_attention_window_size
        sink_token_length batch_scheduler_policy kv_cache_free_gpu_mem_fraction
        cross_kv_cache_fraction kv_cache_host_memory_bytes kv_cache_onboard_blocks
        enable_trt_overlap exclude_input_in_output cancellation_check_period_ms
        stats_check_period_ms iter_stats_max_iterations request_stats_max_iterations
        enable_kv_cache_reuse normalize_log_probs enable_chunked_context gpu_device_ids
        participant_ids num_nodes lora_cache_optimal_adapter_size lora_cache_max_adapter_size
        lora_cache_gpu_memory_fraction lora_cache_host_memory_bytes lora_prefetch_dir
        decoding_mode executor_worker_path lookahead_window_size lookahead_ngram_size
        lookahead_verification_set_size medusa_choices eagle_choices gpu_weights_percent
        enable_context_fmha_fp32_acc multi_block_mode cuda_graph_mode cuda_graph_cache_size
        speculative_decoding_fast_logits tokenizer_dir guided_decoding_backend
        xgrammar_tokenizer_info_path"""
    ),
    "preprocessing": _keys(
        "tokenizer_dir add_special_tokens multimodal_model_path gpt_model_path max_num_images "
        "hf_model_path"
    ),
    "postprocessing": _keys("tokenizer_dir skip_special_tokens"),
    "tensorrt_llm_bls": _keys(
        "accumulate_tokens tensorrt_llm_model_name tensorrt_llm_draft_model_name "
        "multimodal_encoders_name"
    ),
    "ensemble": frozenset(),
}

# tools/fill_template.py variables whose name differs from the parameter key they fill.
TEMPLATE_VARIABLES = {
    "gpt_model_type": "batching_strategy",
    "gpt_model_path": "engine_dir",
    "encoder_model_path": "encoder_engine_dir",
}

# The backend's own worker binary, a fixed value in the official template.
EXECUTOR_WORKER_PATH = "/opt/tritonserver/backends/tensorrtllm/trtllmExecutorWorker"
