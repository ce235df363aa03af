# Device-to-device copy bandwidth through CUDA (torch), the yardstick for the
# matrix-vector target; counts bytes read plus bytes written.
import torch
for mb in (256, 1024):
    n = mb * 2**20 // 4
    a = torch.randn(n, device="cuda")
    b = torch.empty_like(a)
    for _ in range(5):
        b.copy_(a)
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    it = 50
    s.record()
    for _ in range(it):
        b.copy_(a)
    e.record()
    torch.cuda.synchronize()
    t = s.elapsed_time(e) / 1000 / it
    print(f"torch cuda copy {mb} MB: {2 * n * 4 / t / 1e9:.0f} GB/s (read+write), {t*1e6:.1f} us")
