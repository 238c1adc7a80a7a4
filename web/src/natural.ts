// Natural order of tag names, as the server sorts them (core/natural_order.h):
// runs of digits compare by value, so area0.t2 comes before area0.t10.
export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  let tie = 0;
  const digit = (c: number) => c >= 48 && c <= 57;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (digit(ca) && digit(cb)) {
      let ai = i;
      let bj = j;
      while (ai < a.length && a.charCodeAt(ai) === 48) ai++;
      while (bj < b.length && b.charCodeAt(bj) === 48) bj++;
      let ae = ai;
      let be = bj;
      while (ae < a.length && digit(a.charCodeAt(ae))) ae++;
      while (be < b.length && digit(b.charCodeAt(be))) be++;
      if (ae - ai !== be - bj) return ae - ai < be - bj ? -1 : 1;
      for (let k = 0; k < ae - ai; k++) {
        const x = a.charCodeAt(ai + k);
        const y = b.charCodeAt(bj + k);
        if (x !== y) return x < y ? -1 : 1;
      }
      if (tie === 0 && ae - i !== be - j) tie = ae - i < be - j ? -1 : 1;
      i = ae;
      j = be;
      continue;
    }
    if (ca !== cb) return ca < cb ? -1 : 1;
    i++;
    j++;
  }
  if (i < a.length) return 1;
  if (j < b.length) return -1;
  return tie;
}
