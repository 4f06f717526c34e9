import { DataType } from '../proto.js';
import type { GradientRule } from './types.js';

/** y = a^b: da = sumTo(dy · b · a^(b−1)), db = sumTo(dy · y · ln a). */
export const powGrad: GradientRule = {
  inputs: [0, 1],
  backward: (c) => {
    const dy = c.dy() as string;
    const { e } = c;
    const [a, b, y] = [c.input(0), c.input(1), c.output(0)];
    let da: string | undefined;
    if (c.needs(0)) {
      const exponent = c.constant(1);
      let local: string;
      if (exponent?.length === 1 && exponent[0] === 2) local = e.mul(a, e.scalar(2, a));
      else {
        const bType = e.graph.info(b).elemType ?? DataType.FLOAT;
        const bMinusOne = e.sub(b, e.constant([1], bType, []));
        local = e.mul(e.op('Pow', [a, bMinusOne]), e.castLike(b, b, a));
      }
      da = e.sumTo(e.mul(dy, local), y, a);
    }
    const db = c.needs(1) ? e.sumTo(e.mul(dy, e.mul(y, e.op('Log', [a]))), y, b) : undefined;
    return [da, db];
  },
};
