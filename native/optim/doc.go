// Package optim holds the optimizers and learning-rate schedules of
// onnxkit's trainer.
//
// Optimizers work on one flat parameter buffer and one flat gradient
// buffer of the same length, as in llm.c: the trainer allocates all
// parameters (and all gradients) contiguously and carves them into the
// views of the individual tensors, so that an update is a single loop.
// Their state (moment buffers and step count) can be exported as flat
// buffers for a checkpoint and imported to continue bit for bit.
//
// A schedule maps (epoch, step) to a learning rate; Plateau also needs
// the validation metric once per epoch.
//
// Training AlexNet as in Krizhevsky et al. (2012):
//
//	params := make([]float32, n) // all weights, carved into views
//	grads := make([]float32, n)
//	opt := optim.NewSGD(0.9, 0.0005)
//	sched, _ := optim.NewStepDecay(0.01, 0.1, 30)
//	for epoch, step := 0, 0; epoch < 90; epoch++ {
//		for range batches {
//			// ... forward, backward into grads ...
//			opt.Step(params, grads, sched.LR(epoch, step))
//			step++
//		}
//	}
package optim
