// What `mc --help` and `mc COMMAND --help` print: one table, so the overview, each command's
// page and the usage line of a usage error cannot disagree about a flag.

interface CommandHelp {
  readonly usage: readonly string[]; // the synopsis, wrapped as it is printed
  readonly what: string;
  readonly flags: readonly (readonly [string, string])[];
}

const SPEC: readonly (readonly [string, string])[] = [
  ['--model NAME', 'which model of the file (default: the first)'],
  ['--set NAME=INT', "override a dim (repeatable), e.g. --set seq=1048576"],
];

const PLAN: readonly (readonly [string, string])[] = [
  ['--hw NAME|FILE.yaml', 'a800, a100-80g, h100-sxm, h200, or a profile file (hardware/*.yaml shows the fields)'],
  ['--gpus N', 'GPUs in all (default tp x ulysses x cp x dp)'],
  ['--tp N', 'tensor parallel degree'],
  ['--sp, --no-sp', 'Megatron sequence parallelism over the tp ranks (default: on when --tp > 1)'],
  ['--ulysses N, --cp N', 'DeepSpeed-Ulysses all-to-all degree; ring-attention context parallel degree'],
  ['--dp N, --zero 0-3', 'data parallel degree; ZeRO stage: 1 shards optimizer states, 2 also gradients, 3 also weights'],
  ['--mode train|infer', 'training step (default) or one forward pass'],
  ['--strategy S', 'train: none, full-recompute, selective, memo or auto (the fastest that fits; default)'],
  ['--offload-weights', 'infer: stream the weights layer by layer from pinned host memory'],
  ['--cfg', 'infer: classifier-free guidance (the batch doubles)'],
  ['--calibration FILE.yaml', 'measured values that override the profile (any field; docs/PLAN.md)'],
  ...SPEC,
];

const HELP: Readonly<Record<string, CommandHelp>> = {
  inspect: {
    usage: ['mc inspect FILE [--model NAME] [--set NAME=INT]... [--json | --ir]'],
    what: 'Check a spec and print each layer with its shapes, parameters and FLOPs.',
    flags: [...SPEC, ['--json', 'the same as JSON'], ['--ir', 'the typed IR, one op per line']],
  },
  plan: {
    usage: [
      'mc plan FILE --hw NAME|FILE.yaml [--gpus N] [--tp N] [--sp|--no-sp] [--ulysses N] [--cp N] [--dp N] [--zero 0-3]',
      '        [--mode train|infer] [--strategy S] [--offload-weights] [--cfg] [--calibration FILE.yaml]',
      '        [--set NAME=INT]... [--model M] [--json] [--alloc greedy|mip|search|auto] [--verify]',
      '        [--timeline FILE.svg|FILE.html] [--tile auto|FxHxW [--tile-overlap 0.25] [--tile-budget GIB]]',
    ],
    what: 'Plan memory and time on given GPUs: peak per GPU by category, step time, MFU, the MEMO swap fraction per layer type, and every buffer placed in one arena. Exit 1 when it does not fit.',
    flags: [
      ...PLAN,
      ['--json', 'the plan as JSON (docs/PLAN.md lists the keys)'],
      ['--alloc A', 'arena allocator: greedy, mip, search or auto (default), within a 2 s budget'],
      ['--verify', 'check the arena layout: no two live buffers overlap'],
      ['--timeline FILE', 'draw the streams (compute, D2H, H2D) and the arena as SVG or HTML'],
      ['--tile auto|FxHxW', 'infer: plan a video decoder tile by tile (HunyuanVideo: 65x256x256)'],
      ['--tile-overlap F', 'overlap between tiles (default 0.25)'],
      ['--tile-budget GIB', 'with --tile: a tile must fit this many GiB (auto: the largest that does)'],
    ],
  },
  check: {
    usage: [
      'mc check FILE --hw NAME [plan flags] [--max-memory SIZE] [--min-mfu F] [--max-step-time S] [--markdown FILE|-] [--json]',
      'mc check --budget FILE.yaml [--markdown FILE|-] [--json]',
    ],
    what: 'CI gates: plan each configuration and compare memory, MFU and step time with budgets. Exit 1 when one fails, naming the smallest change that passes.',
    flags: [
      ['plan flags', 'as for mc plan (--hw, --gpus, --tp, ..., --set)'],
      ['--max-memory SIZE', 'peak per GPU, e.g. 75GiB or 80GB'],
      ['--min-mfu F', 'estimated MFU, e.g. 0.45'],
      ['--max-step-time S', 'seconds per step'],
      ['--budget FILE.yaml', 'many configurations and budgets in one file (docs/CHECK.md)'],
      ['--markdown FILE|-', 'also write a Markdown table (for a CI summary)'],
      ['--json', 'the verdicts and plans as JSON on stdout'],
    ],
  },
  compile: {
    usage: [
      'mc compile FILE [--model M] [--set k=v]... [--hw NAME] [--backend cuda|cpu] [--arch sm_90] [--dtype declared|fp32]',
      '        [--arena planned|greedy|sequential | --offsets PLAN.json] [--offload-weights] -o DIR [--no-build]',
      '        [--pipeline hunyuan-video --vae VAE.mc [--vae-set k=v]... [--vae-tile PX,FRAMES]',
      '         [--text-encoder TE.mc --clip CLIP.mc [--te-set k=v]... [--clip-set k=v]...]]',
    ],
    what: 'Emit a forward program (CUDA C++ on runtime-cuda/, or plain C++ for the CPU) and its TypeScript launcher into DIR, and build it.',
    flags: [
      ...SPEC,
      ['--hw NAME', 'warn when the program cannot fit this GPU'],
      ['--backend cuda|cpu', 'the GPU program (default), or a CPU build to check numerics'],
      ['--arch sm_XX', 'the GPU architecture to build for (default sm_90)'],
      ['--dtype declared|fp32', 'store tensors as the spec declares (default) or all in fp32'],
      ['--arena MODE', 'activation layout: planned (optimal, default), greedy or sequential (no reuse)'],
      ['--offsets PLAN.json', 'use this arena layout instead: {"total": BYTES, "offsets": {TENSOR_ID: OFFSET}}'],
      ['--mode infer', 'forward programs only (the default; training steps are not compiled)'],
      ['--offload-weights', 'keep weights in pinned host memory and stream them layer by layer'],
      ['-o DIR', 'the output folder'],
      ['--no-build', 'write the sources without running nvcc / the C++ compiler'],
      ['--pipeline hunyuan-video', 'text-to-video: the DiT, the tiled VAE decoder (--vae), and a sampler'],
      ['--vae-set k=v', 'a dim of the VAE spec (frames, height and width follow the video)'],
      ['--vae-tile PX,FRAMES', 'decoder tile size in pixels and frames (default 256,64)'],
      ['--text-encoder TE.mc', "the Llama-3 text encoder's spec (its text_encoder model); with --clip the launcher takes --prompt"],
      ['--clip CLIP.mc', 'the CLIP-L text model spec (examples/hunyuan-video/clip-text.mc)'],
      ['--te-set k=v, --clip-set k=v', 'a dim of the text encoder or CLIP spec (repeatable)'],
    ],
  },
  eval: {
    usage: ['mc eval FILE [--model M] [--set k=v]... --weights W.safetensors --inputs I.safetensors --out O.safetensors [--dtype fp32|bf16]'],
    what: 'Run the reference interpreter on the CPU: the numerics compiled programs are checked against.',
    flags: [...SPEC, ['--weights, --inputs', 'safetensors files (mc weights / mc inputs make random ones)'], ['--out, -o', 'the outputs, as safetensors'], ['--dtype bf16|fp32', 'bf16 (default): tensors in their declared dtypes, rounded as stored; fp32: every float in fp32']],
  },
  weights: {
    usage: ['mc weights FILE [--model M] [--set k=v]... --random SEED -o W.safetensors'],
    what: "Seeded random weights for any spec, named as the compiled program's weight map expects.",
    flags: [...SPEC, ['--random SEED', 'an integer in [0, 2^32)'], ['-o FILE', 'the safetensors file to write']],
  },
  inputs: {
    usage: ['mc inputs FILE [--model M] [--set k=v]... --random SEED -o I.safetensors'],
    what: 'Seeded random inputs for any spec.',
    flags: [...SPEC, ['--random SEED', 'an integer in [0, 2^32)'], ['-o FILE', 'the safetensors file to write']],
  },
  ops: {
    usage: ['mc ops [--markdown]'],
    what: 'List the ops of the spec language with their parameters.',
    flags: [['--markdown', 'as the table in docs/LANGUAGE.md']],
  },
  alloc: {
    usage: ['mc alloc FILE.csv --capacity N [--out FILE] [--time-limit S] [--solver greedy|search|mip|glpk|highs|auto] [--verify] [--minimize]'],
    what: "Lay out a minimalloc CSV's buffers in one arena. Exit 0 when it fits the capacity, 1 when not.",
    flags: [
      ['--capacity N', 'arena bytes'],
      ['--out FILE', 'write the CSV back with an offset column'],
      ['--time-limit S', 'solver time (default 60)'],
      ['--solver NAME', 'greedy, search, mip (glpk or highs) or auto (default)'],
      ['--verify', 'check that no two live buffers overlap'],
      ['--minimize', 'keep going below the capacity, to the lowest peak found'],
    ],
  },
};

export const COMMAND_NAMES = Object.keys(HELP);

/** The synopsis of one command, as a usage error quotes it. */
export const usageOf = (cmd: string): string => HELP[cmd].usage.map((l) => l.trim()).join(' ');

export function overview(): string {
  const lines = Object.values(HELP).flatMap((h) => h.usage.map((l) => `  ${l}`));
  return `mc: the model compiler\n\nusage:\n${lines.join('\n')}\n\nRun 'mc COMMAND --help' for what a command does and its flags; 'mc --version' for the version.\n`;
}

export function commandHelp(cmd: string): string {
  const h = HELP[cmd];
  const w = Math.max(...h.flags.map(([f]) => f.length));
  const flags = h.flags.map(([f, d]) => `  ${f.padEnd(w)}  ${d}`);
  const usage = h.usage.map((l, i) => (i === 0 ? 'usage: ' : l.startsWith('mc ') ? '   or: ' : '') + l);
  return `${usage.join('\n')}\n\n${wrap(h.what, 100)}\n\n${flags.join('\n')}\n`;
}

function wrap(text: string, width: number): string {
  const lines = [''];
  for (const word of text.split(' ')) {
    const last = lines.length - 1;
    if (lines[last] && lines[last].length + 1 + word.length > width) lines.push(word);
    else lines[last] = lines[last] ? `${lines[last]} ${word}` : word;
  }
  return lines.join('\n');
}
