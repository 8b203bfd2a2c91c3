using TorchSharp;
var t = torch.ones(3, 3).matmul(torch.ones(3, 3));
Console.WriteLine(t.sum().item<float>());
