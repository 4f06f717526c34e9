"""Captum side of `pnpm bench:captum` (bench/src/captum.ts starts it; never a test dependency).

A line protocol on stdin/stdout, one JSON object a line each way:
  {"op": "hello"}                  -> versions, threads, CPU model
  {"op": "setup", "case": {...}}   -> builds the model and the Captum method of one case; returns a check value
                                      (text cases, model "tiny_gpt": token ids and logits, compared by captum.ts)
  {"op": "run"}                    -> one `attribute()` call of the current case, timed here (perf_counter around the
                                      call alone); returns {"ms": ..., "sum": ...} (text cases: also "values", the
                                      seq_attr of every prompt feature)
Tensors arrive as raw little-endian float32 files written by captum.ts ({"$tensor": path, "shape": [...]}), and the
options are the ones captum.ts passes to our methods, converted to Captum's keyword names (camelCase -> snake_case,
plus NoiseTunnel's nt_* names). Only protocol lines go to stdout; warnings go to stderr.
"""
import importlib.machinery
import json
import os
import platform
import re
import sys
import time
import types
import warnings

warnings.simplefilter("ignore")


def _stub_matplotlib():
    """captum.attr imports matplotlib for its visualisations only; a bare Debian PyTorch has none."""
    try:
        import matplotlib  # noqa: F401
        return
    except ImportError:
        pass

    class Stub(types.ModuleType):
        __path__ = []

        def __getattr__(self, attr):
            if attr.startswith("__"):
                raise AttributeError(attr)
            return Stub(f"{self.__name__}.{attr}")

        def __call__(self, *args, **kwargs):
            return Stub("call")

    class Finder:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("matplotlib", "mpl_toolkits"):
                return importlib.machinery.ModuleSpec(name, self, is_package=True)
            return None

        def create_module(self, spec):
            return Stub(spec.name)

        def exec_module(self, module):
            pass

    sys.meta_path.insert(0, Finder())


_stub_matplotlib()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torchvision  # noqa: E402
import captum  # noqa: E402
import captum.attr as ca  # noqa: E402

THREADS = int(os.environ.get("BENCH_TORCH_THREADS", "2"))
torch.set_num_threads(THREADS)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def onnx_weights(path):
    """The initializers of an ONNX file and its Conv/Gemm nodes in graph order (python3-onnx)."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(path)
    init = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in m.graph.initializer}
    for n in m.graph.node:  # the exporter aliases shared weights through Identity nodes
        if n.op_type == "Identity" and n.input[0] in init:
            init[n.output[0]] = init[n.input[0]]
    return init, [n for n in m.graph.node if n.op_type in ("Conv", "Gemm")]


def mobilenet(path):
    """torchvision's mobilenet_v2 as the ONNX file has it: BatchNorm folded into the convolutions (so each conv
    gets a bias and each BatchNorm2d becomes Identity), weights loaded from the file's initializers. Returns the
    model and whether the ONNX weights were loaded (without python3-onnx it keeps torchvision's random weights)."""
    model = torchvision.models.mobilenet_v2(num_classes=1000)
    try:
        init, nodes = onnx_weights(path)
    except Exception:  # noqa: BLE001 - no python3-onnx: same architecture, random weights
        return model.eval(), False

    def replace(parent):
        for name, child in parent.named_children():
            if isinstance(child, nn.BatchNorm2d):
                setattr(parent, name, nn.Identity())
            elif isinstance(child, nn.Conv2d):
                c = child
                setattr(parent, name, nn.Conv2d(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.padding, c.dilation, c.groups, bias=True))
            else:
                replace(child)

    replace(model)
    # Out of place: with BatchNorm gone an in-place ReLU6 would overwrite the conv outputs the layer methods hook.
    for m in model.modules():
        if isinstance(m, nn.ReLU6):
            m.inplace = False
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    conv_nodes = [n for n in nodes if n.op_type == "Conv"]
    gemm = [n for n in nodes if n.op_type == "Gemm"][0]
    assert len(convs) == len(conv_nodes), (len(convs), len(conv_nodes))
    with torch.no_grad():
        for module, node in zip(convs, conv_nodes):
            module.weight.copy_(init[node.input[1]])
            module.bias.copy_(init[node.input[2]])
        linear = model.classifier[1]
        linear.weight.copy_(init[gemm.input[1]])
        linear.bias.copy_(init[gemm.input[2]])
    return model.eval(), True


def mlp(path):
    """breast_cancer.onnx: Gemm 30->32, Relu, Gemm 32->16, Relu, Gemm 16->2, with the file's weights."""
    init, _ = onnx_weights(path)
    model = nn.Sequential(nn.Linear(30, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 2))
    with torch.no_grad():
        for i in (0, 2, 4):
            model[i].weight.copy_(init[f"{i}.weight"])
            model[i].bias.copy_(init[f"{i}.bias"])
    return model.eval(), True


_FIXTURES = {}


def tiny_gpt(folder):
    """The tiny-gpt decoder as PyTorch: packages/text/fixtures/make_fixtures.py's TinyGPT and TinyTokenizer
    (imported from that file; its main() runs only as a script), with the weights of the folder's onnx/model.onnx
    (load_from_onnx, by initializer name; needs python3-onnx)."""
    if folder not in _FIXTURES:
        import importlib.util

        path = os.path.join(os.path.dirname(os.path.abspath(folder)), "make_fixtures.py")
        spec = importlib.util.spec_from_file_location("make_fixtures", path)
        mf = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mf)
        tok = mf.TinyTokenizer(mf.build_vocab())
        model = mf.TinyGPT(tok.vocab_size)
        mf.load_from_onnx(model, os.path.join(folder, "onnx", "model.onnx"))
        _FIXTURES[folder] = (model.eval(), tok)
    return _FIXTURES[folder]


def text_setup(case):
    """LLMAttribution(FeatureAblation) or LLMGradientAttribution(LayerIntegratedGradients on the token embedding)
    of one prompt and target text, as the conformance cases (captum-cases.json) call them. Returns the token ids and
    the logits of prompt + target so that captum.ts can check that both sides run the same network."""
    model, tok = tiny_gpt(case["modelFile"])
    skip = case["skipTokens"]
    inp = ca.TextTokenInput(case["prompt"], tok, skip_tokens=skip)
    kwargs = captum_kwargs(case["method"], case["options"])
    if case["method"] == "LLMAttribution":
        inner = {"FeatureAblation": ca.FeatureAblation}[case["inner"]]
        llm = ca.LLMAttribution(inner(model), tok)
    else:
        inner = {"LayerIntegratedGradients": ca.LayerIntegratedGradients}[case["inner"]]
        llm = ca.LLMGradientAttribution(inner(model, model.get_submodule(case["torchLayer"])), tok)
    target = case["target"]
    target_ids = [int(t) for t in llm._get_target_tokens(inp, target, skip_tokens=skip)]
    input_ids = [int(t) for t in inp.inp_tensor[0].tolist()]
    with torch.no_grad():
        logits = model(torch.tensor([input_ids + target_ids])).logits
    call = lambda: llm.attribute(inp, target=target, skip_tokens=skip, **kwargs)  # noqa: E731
    return call, {"inputIds": input_ids, "targetIds": target_ids, "logits": logits.reshape(-1).tolist()}


def load_tensor(spec):
    data = np.fromfile(spec["$tensor"], dtype="<f4").reshape(spec["shape"])
    return torch.from_numpy(data.copy())


RENAMES = {"NoiseTunnel": {"nSamples": "nt_samples", "nSamplesBatchSize": "nt_samples_batch_size", "ntType": "nt_type"}}
TUPLES = {"sliding_window_shapes", "strides"}


def captum_kwargs(method, options):
    out = {}
    for key, value in options.items():
        if key == "seed":
            continue  # Captum draws from torch's global generator, seeded once per case
        name = RENAMES.get(method, {}).get(key) or re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), key)
        if isinstance(value, dict) and "$tensor" in value:
            value = load_tensor(value)
        elif name in TUPLES and isinstance(value, list):
            value = tuple(value)
        elif name == "stdevs":  # JSON writes 1.0 as 1; Captum asserts a float
            value = tuple(float(v) for v in value) if isinstance(value, list) else float(value)
        out[name] = value
    return out


def build(method, model, layer):
    simple = {
        "IntegratedGradients": ca.IntegratedGradients,
        "Saliency": ca.Saliency,
        "InputXGradient": ca.InputXGradient,
        "DeepLift": ca.DeepLift,
        "DeepLiftShap": ca.DeepLiftShap,
        "GradientShap": ca.GradientShap,
        "GuidedBackprop": ca.GuidedBackprop,
        "Deconvolution": ca.Deconvolution,
        "Occlusion": ca.Occlusion,
        "FeatureAblation": ca.FeatureAblation,
        "FeaturePermutation": ca.FeaturePermutation,
        "ShapleyValueSampling": ca.ShapleyValueSampling,
        "KernelShap": ca.KernelShap,
        "Lime": ca.Lime,
    }
    if method in simple:
        return simple[method](model)
    if method == "NoiseTunnel":
        return ca.NoiseTunnel(ca.Saliency(model))
    module = model.get_submodule(layer)
    return {"GuidedGradCam": ca.GuidedGradCam, "LayerIntegratedGradients": ca.LayerIntegratedGradients, "LayerGradCam": ca.LayerGradCam}[method](model, module)


class Server:
    def __init__(self):
        self.models = {}
        self.case = None

    def model(self, name, path):
        if name not in self.models:
            self.models[name] = (mobilenet if name.startswith("mobilenet") else mlp)(path)
        return self.models[name]

    def hello(self, _):
        return {"torch": torch.__version__, "torchvision": torchvision.__version__, "captum": captum.__version__, "python": platform.python_version(), "threads": torch.get_num_threads(), "cpu": cpu_model()}

    def setup(self, msg):
        case = msg["case"]
        self.case = None
        torch.manual_seed(case["options"].get("seed", 0))
        if case["model"] == "tiny_gpt":
            self.case, reply = text_setup(case)
            return reply
        model, matched = self.model(case["model"], case["modelFile"])
        inputs = load_tensor(case["inputs"])
        kwargs = captum_kwargs(case["method"], case["options"])
        method = build(case["method"], model, case.get("torchLayer"))
        self.case = lambda: method.attribute(inputs, **kwargs)
        with torch.no_grad():
            logits = model(inputs)
        return {"weightsFromOnnx": matched, "logitsSum": float(logits.sum())}

    def run(self, _):
        t = time.perf_counter()
        result = self.case()
        ms = (time.perf_counter() - t) * 1000
        if isinstance(result, ca.LLMAttributionResult):  # the text cases: one value per prompt feature
            seq = result.seq_attr.detach().double()
            return {"ms": ms, "sum": float(seq.sum()), "values": seq.tolist()}
        attributions = result[0] if isinstance(result, tuple) else result
        return {"ms": ms, "sum": float(attributions.detach().double().sum())}


def main():
    server = Server()
    if "--check" in sys.argv:
        print(json.dumps(server.hello(None)))
        return
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        try:
            reply = getattr(server, msg["op"])(msg)
        except Exception as e:  # noqa: BLE001 - reported to captum.ts, which skips the case
            reply = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
