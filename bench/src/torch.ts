import { spawnSync } from 'node:child_process';

const SCRIPT = `
import json, time, torch, torchvision
torch.set_num_threads(2)
torch.manual_seed(0)
model = torchvision.models.mobilenet_v2(num_classes=1000).eval()
x = torch.randn(1, 3, 224, 224)
out = {}
for batch in (10, 50):
    times = []
    for run in range(4):
        t = time.perf_counter()
        for chunk in range(50 // batch):
            alphas = torch.rand(batch, 1, 1, 1)
            points = (alphas * x).requires_grad_(True)
            y = model(points)[:, 7].sum()
            torch.autograd.grad(y, points)
        times.append((time.perf_counter() - t) * 1000)
    out[str(batch)] = sorted(times[1:])[1]
print(json.dumps(out))
`;

/**
 * PyTorch autograd for the same 50 MobileNetV2-224 gradients, when `python3` with torch and torchvision is
 * available (a reference line only; never required).
 */
export function torchReference(): Record<string, number> | undefined {
  const python = ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-c', 'import torch, torchvision'], { encoding: 'utf8' }).status === 0);
  if (!python) {
    console.log('PyTorch reference skipped: python3 with torch and torchvision is not available.');
    return undefined;
  }
  const run = spawnSync(python, ['-c', SCRIPT], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (run.status !== 0) {
    console.log(`PyTorch reference failed: ${run.stderr.trim().split('\n').pop()}`);
    return undefined;
  }
  return JSON.parse(run.stdout.trim().split('\n').pop() as string) as Record<string, number>;
}
