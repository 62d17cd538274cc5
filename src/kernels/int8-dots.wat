;; Integer dot products of int8 rows (SIMD): out[i] = Σ_d m[q + d] × m[rows[i] × dims + d], exact in i32.
;; Memory: the table's rows from byte 0, then the caller's row list and the results (addresses in the arguments).
;; `scan`: an int16 query (`padded` values, a multiple of 8, zero past the row width) against `n` int8 rows stored one
;; after another `stride` bytes apart from `rows`: out[i] = Σ_d q[d] × m[rows + i × stride + d], in i32 (the caller
;; bounds the query so no sum overflows). A row's last step may read up to 7 bytes past it: they meet zeros.
(module
  (memory (export "memory") 1)
  (func (export "dots") (param $q i32) (param $rows i32) (param $n i32) (param $dims i32) (param $out i32)
    (local $i i32) (local $base i32) (local $d i32) (local $end i32) (local $acc v128) (local $s i32)
    (local $a v128) (local $b v128)
    (local.set $end (i32.sub (local.get $dims) (i32.rem_u (local.get $dims) (i32.const 16))))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $base
          (i32.mul (i32.load (i32.add (local.get $rows) (i32.shl (local.get $i) (i32.const 2)))) (local.get $dims)))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $d (i32.const 0))
        (block $simd_done
          (loop $simd
            (br_if $simd_done (i32.ge_u (local.get $d) (local.get $end)))
            (local.set $a (v128.load (i32.add (local.get $q) (local.get $d))))
            (local.set $b (v128.load (i32.add (local.get $base) (local.get $d))))
            (local.set $acc (i32x4.add (local.get $acc)
              (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $a)) (i16x8.extend_low_i8x16_s (local.get $b)))))
            (local.set $acc (i32x4.add (local.get $acc)
              (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $a)) (i16x8.extend_high_i8x16_s (local.get $b)))))
            (local.set $d (i32.add (local.get $d) (i32.const 16)))
            (br $simd)))
        (local.set $s (i32.add
          (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
          (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))
        (block $tail_done
          (loop $tail
            (br_if $tail_done (i32.ge_u (local.get $d) (local.get $dims)))
            (local.set $s (i32.add (local.get $s)
              (i32.mul (i32.load8_s (i32.add (local.get $q) (local.get $d)))
                       (i32.load8_s (i32.add (local.get $base) (local.get $d))))))
            (local.set $d (i32.add (local.get $d) (i32.const 1)))
            (br $tail)))
        (i32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2))) (local.get $s))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $row))))
  (func (export "scan") (param $q i32) (param $padded i32) (param $rows i32) (param $n i32) (param $stride i32)
    (param $out i32)
    (local $i i32) (local $base i32) (local $d i32) (local $acc v128)
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $base (i32.add (local.get $rows) (i32.mul (local.get $i) (local.get $stride))))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $d (i32.const 0))
        (block $simd_done
          (loop $simd
            (br_if $simd_done (i32.ge_u (local.get $d) (local.get $padded)))
            (local.set $acc (i32x4.add (local.get $acc)
              (i32x4.dot_i16x8_s
                (v128.load (i32.add (local.get $q) (i32.shl (local.get $d) (i32.const 1))))
                (v128.load8x8_s (i32.add (local.get $base) (local.get $d))))))
            (local.set $d (i32.add (local.get $d) (i32.const 8)))
            (br $simd)))
        (i32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
          (i32.add
            (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
            (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $row)))))
